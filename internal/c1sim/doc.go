// Package c1sim is a stand-in for ConductorOne's connector task API, the
// service a Baton connector talks to in service mode (`--client-id`,
// `--client-secret`), so that tests can run the connector against it.
//
// One TLS listener on 127.0.0.1 serves what ConductorOne serves on one host:
//
//   - POST /auth/v1/token, the OAuth client-credentials exchange. The client
//     proves possession of its key with a compact JWS (EdDSA) client
//     assertion; the stand-in checks the signature against the public half of
//     the key it handed out and the claims (iss, sub, aud, exp, nbf, nonce)
//     and answers with a short-lived bearer access token.
//   - c1.connectorapi.baton.v1.BatonService over gRPC (HTTP/2, routed by
//     content type to a grpc.Server): Hello, GetTask, GetTasks, Heartbeat,
//     FinishTask, UploadAsset and StartDebugging, each requiring a bearer
//     token the token endpoint issued.
//
// A test starts a Server, passes Server.Env to the connector process (or
// uses the credentials in process with the SDK's c1api task manager),
// enqueues tasks with the Enqueue helpers and waits for the connector to
// finish them with WaitFinished. Everything the stand-in receives is kept
// (Records, Search), so a test can prove that a secret never left the
// connector, and the token endpoint and the RPCs can be made to fail
// (FailToken, FailRPC, SetUnreachable) to test how the connector rides out
// an outage.
//
// Its tests are in cmd/baton-trayai (standin_test.go): they drive the
// SDK's own service-mode client, so they share the SDK's link with the
// service-mode tests there instead of linking it a second time.
package c1sim
