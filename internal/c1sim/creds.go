package c1sim

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"strings"
	"time"
)

// SecretPrefix starts every ConductorOne client secret: the SDK
// (pkg/crypto.ParseClientSecret) splits the secret on ":" into four parts,
// requires the third to be "v1" and base64url-decodes (no padding) the fourth
// into a JSON Web Key holding an Ed25519 private key.
const SecretPrefix = "secret-token:conductorone.com:v1:"

// ClientIDSuffix ends the client ids the stand-in makes. The SDK
// (pkg/ugrpc.parseClientID) reads NAME@HOST/SUFFIX and uses only NAME (in its
// user agent) and HOST (token host, assertion audience and gRPC address).
const ClientIDSuffix = "/pcc"

// Credentials is a connector's ConductorOne client credential: a client id
// naming the host to talk to and a client secret holding the private key the
// connector signs its token requests with.
type Credentials struct {
	// ClientID is NAME@HOST/SUFFIX.
	ClientID string
	// ClientSecret is SecretPrefix + base64url(JWK of the private key).
	ClientSecret string
	// PublicKey verifies the connector's client assertions.
	PublicKey ed25519.PublicKey

	privateKey ed25519.PrivateKey
}

// NewCredentials makes a fresh Ed25519 key pair and the client id
// name@host/pcc with the client secret holding the private key. host may
// carry a port; the assertion audience is host without it.
func NewCredentials(name, host string) (*Credentials, error) {
	if name == "" || strings.ContainsAny(name, "@/") {
		return nil, fmt.Errorf("c1sim: client name %q must be non-empty without '@' or '/'", name)
	}
	if host == "" || strings.ContainsAny(host, "@/") {
		return nil, fmt.Errorf("c1sim: host %q must be non-empty without '@' or '/'", host)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("c1sim: generate client key: %w", err)
	}
	jwk, err := json.Marshal(map[string]string{
		"kty": "OKP",
		"crv": "Ed25519",
		"x":   base64.RawURLEncoding.EncodeToString(pub),
		"d":   base64.RawURLEncoding.EncodeToString(priv.Seed()),
	})
	if err != nil {
		return nil, err
	}
	return &Credentials{
		ClientID:     name + "@" + host + ClientIDSuffix,
		ClientSecret: SecretPrefix + base64.RawURLEncoding.EncodeToString(jwk),
		PublicKey:    pub,
		privateKey:   priv,
	}, nil
}

// SecretMaterial lists the strings that must never leave the connector: the
// whole client secret, its base64url JWK part and the JWK's private "d"
// member. Only a signed assertion ever should.
func (c *Credentials) SecretMaterial() []string {
	return []string{
		c.ClientSecret,
		strings.TrimPrefix(c.ClientSecret, SecretPrefix),
		base64.RawURLEncoding.EncodeToString(c.privateKey.Seed()),
	}
}

// Audience is the audience the connector's assertions must carry: the host
// of the client id without its port (pkg/ugrpc c1TokenSource.Token).
func (c *Credentials) Audience() string {
	return audienceOf(c.ClientID)
}

// Sign makes a compact JWS (EdDSA) over the given JSON claims with the
// credential's key and the given protected header members (alg is always
// EdDSA). Tests use it to craft assertions the SDK would never send.
func (c *Credentials) Sign(header map[string]any, claims any) (string, error) {
	h := map[string]any{}
	for k, v := range header {
		h[k] = v
	}
	h["alg"] = "EdDSA"
	hb, err := json.Marshal(h)
	if err != nil {
		return "", err
	}
	cb, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	sig := ed25519.Sign(c.privateKey, []byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// audienceOf is the host part of a client id, without a port.
func audienceOf(clientID string) string {
	_, rest, ok := strings.Cut(clientID, "@")
	if !ok {
		return ""
	}
	host, _, _ := strings.Cut(rest, "/")
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return host
}

// jwkThumbprint is the hex SHA-256 RFC 7638 thumbprint of an Ed25519 public
// key, as the SDK's jwk.Thumbprint computes key ids.
func jwkThumbprint(pub ed25519.PublicKey) string {
	canon := `{"crv":"Ed25519","kty":"OKP","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}`
	sum := sha256.Sum256([]byte(canon))
	return hex.EncodeToString(sum[:])
}

// assertionRules are what a client assertion must satisfy.
type assertionRules struct {
	clientID    string
	audience    string
	key         ed25519.PublicKey
	leeway      time.Duration
	maxLifetime time.Duration
}

// assertion is what a verified client assertion told.
type assertion struct {
	nonce string
	exp   time.Time
}

// audience is the JWT "aud" claim: one string or an array of them.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("aud is neither a string nor an array of strings")
	}
	*a = many
	return nil
}

// verifyAssertion checks a compact JWS client assertion: the EdDSA signature
// against the client's public key, then iss = sub = client id, aud, and an
// exp/nbf window around now. The nonce is returned for replay checks.
func verifyAssertion(jws string, r assertionRules, now time.Time) (*assertion, error) {
	parts := strings.Split(jws, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("client_assertion is not a compact JWS (%d parts)", len(parts))
	}
	header, err := verifySignedHeader(parts, r.key)
	if err != nil {
		return nil, err
	}
	nonce, _ := header["nonce"].(string)
	if nonce == "" {
		return nil, errors.New("protected header has no nonce")
	}
	claims, err := decodeClaims(parts[1])
	if err != nil {
		return nil, err
	}
	if err := claims.checkParties(r); err != nil {
		return nil, err
	}
	exp, err := claims.checkValidity(r, now)
	if err != nil {
		return nil, err
	}
	return &assertion{nonce: nonce, exp: exp}, nil
}

// verifySignedHeader decodes the protected header of a compact JWS split at
// its dots, requires EdDSA without critical extensions (which the stand-in
// could not honour), and verifies the signature with key.
func verifySignedHeader(parts []string, key ed25519.PublicKey) (map[string]any, error) {
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, fmt.Errorf("protected header is not base64url: %w", err)
	}
	var header map[string]any
	if err := json.Unmarshal(hb, &header); err != nil {
		return nil, fmt.Errorf("protected header is not JSON: %w", err)
	}
	if alg, _ := header["alg"].(string); alg != "EdDSA" {
		return nil, fmt.Errorf("alg %q is not EdDSA", header["alg"])
	}
	if _, ok := header["crit"]; ok {
		return nil, errors.New("crit header members are not supported")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, fmt.Errorf("signature is not base64url: %w", err)
	}
	if !ed25519.Verify(key, []byte(parts[0]+"."+parts[1]), sig) {
		return nil, errors.New("signature does not verify with the client's public key")
	}
	return header, nil
}

// assertionClaims are the registered JWT claims the stand-in checks. Times
// are pointers so that a missing claim differs from 0.
type assertionClaims struct {
	Iss string   `json:"iss"`
	Sub string   `json:"sub"`
	Aud audience `json:"aud"`
	Exp *float64 `json:"exp"`
	Nbf *float64 `json:"nbf"`
	Iat *float64 `json:"iat"`
}

// decodeClaims decodes the base64url payload of a JWS into the claims the
// stand-in checks.
func decodeClaims(payload string) (assertionClaims, error) {
	var claims assertionClaims
	cb, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return claims, fmt.Errorf("payload is not base64url: %w", err)
	}
	if err := json.Unmarshal(cb, &claims); err != nil {
		return claims, fmt.Errorf("claims are not a JWT claims set: %w", err)
	}
	return claims, nil
}

// checkParties requires the client to assert its own identity (iss and sub)
// to this tenant (aud).
func (c assertionClaims) checkParties(r assertionRules) error {
	if c.Iss != r.clientID {
		return fmt.Errorf("iss %q is not the client id", c.Iss)
	}
	if c.Sub != r.clientID {
		return fmt.Errorf("sub %q is not the client id", c.Sub)
	}
	if !slices.Contains(c.Aud, r.audience) {
		return fmt.Errorf("aud %q does not name %q", []string(c.Aud), r.audience)
	}
	return nil
}

// checkValidity requires exp and nbf to bracket now (give or take the
// leeway), a lifetime no longer than the rules allow, and no iat in the
// future. It returns exp, until which the nonce must not be reused.
func (c assertionClaims) checkValidity(r assertionRules, now time.Time) (time.Time, error) {
	if c.Exp == nil {
		return time.Time{}, errors.New("no exp claim")
	}
	if c.Nbf == nil {
		return time.Time{}, errors.New("no nbf claim")
	}
	exp, nbf := unixTime(*c.Exp), unixTime(*c.Nbf)
	if !now.Before(exp.Add(r.leeway)) {
		return time.Time{}, fmt.Errorf("assertion expired at %s", exp.UTC().Format(time.RFC3339))
	}
	if now.Add(r.leeway).Before(nbf) {
		return time.Time{}, fmt.Errorf("assertion not valid before %s", nbf.UTC().Format(time.RFC3339))
	}
	if exp.After(now.Add(r.maxLifetime + r.leeway)) {
		return time.Time{}, fmt.Errorf("assertion lives until %s, more than %s from now", exp.UTC().Format(time.RFC3339), r.maxLifetime)
	}
	if c.Iat != nil && unixTime(*c.Iat).After(now.Add(r.leeway)) {
		return time.Time{}, errors.New("assertion issued in the future")
	}
	return exp, nil
}

func unixTime(f float64) time.Time {
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9))
}
