package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/viper"
)

// healthFront answers the health checks on the operator's port for the
// whole life of service mode. The SDK starts its health server only once
// ConductorOne has answered the start-up Hello, and one start-up may wait
// minutes for that (the SDK retries an unavailable ConductorOne itself);
// until then nothing would answer the kubelet's liveness probe, which would
// restart a pod that is only waiting. So the SDK's server moves to a
// loopback port of its own: /live is answered here, /ready and /health are
// passed to the SDK's server, and answer 503 until it is up.
type healthFront struct {
	srv *http.Server
}

// startHealthFront listens on the health port the configuration names and
// points the SDK's own health server (this process's and, through the
// environment, nothing else's) at a free loopback port. It returns nil when
// the health check is off.
func startHealthFront(ctx context.Context, v *viper.Viper) (*healthFront, error) {
	if on, _ := strconv.ParseBool(setting(v, "health-check")); !on {
		return nil, nil
	}
	addr := net.JoinHostPort(setting(v, "health-check-bind-address"), setting(v, "health-check-port"))
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("baton-trayai: the health check cannot listen on %s (%w): free the port or choose another with --health-check-port (BATON_HEALTH_CHECK_PORT)", addr, err)
	}
	backend, err := freeLoopbackPort(ctx)
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("baton-trayai: no free loopback port for the SDK's health server: %w", err)
	}
	for name, value := range map[string]string{"health-check-port": backend, "health-check-bind-address": "127.0.0.1"} {
		// A flag outranks the environment.
		os.Args = withFlag(os.Args, name, value)
		_ = os.Setenv(envName(name), value)
	}
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", backend)})
	proxy.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, _ error) {
		writeHealth(w, http.StatusServiceUnavailable, "waiting for ConductorOne to answer the connector's start-up")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/live", func(w http.ResponseWriter, _ *http.Request) { writeHealth(w, http.StatusOK, "alive") })
	mux.Handle("/", proxy)
	f := &healthFront{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = f.srv.Serve(ln) }()
	return f, nil
}

// Close stops answering; a nil front is off.
func (f *healthFront) Close() {
	if f != nil {
		_ = f.srv.Close()
	}
}

// freeLoopbackPort is a loopback port nothing listens on now.
func freeLoopbackPort(ctx context.Context) (string, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	tcp, ok := ln.Addr().(*net.TCPAddr)
	if !ok {
		return "", fmt.Errorf("unexpected listener address %v", ln.Addr())
	}
	return strconv.Itoa(tcp.Port), nil
}

// writeHealth answers in the SDK's health server's JSON form.
func writeHealth(w http.ResponseWriter, code int, status string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"status": status, "timestamp": time.Now().UTC().Format(time.RFC3339)})
}

// envName is the environment variable the SDK reads for a setting.
func envName(setting string) string {
	return "BATON_" + strings.ToUpper(strings.ReplaceAll(setting, "-", "_"))
}
