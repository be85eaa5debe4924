package connector

import (
	"slices"
	"strings"
	"testing"

	"github.com/conductorone/baton-sdk/pkg/test"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/conductorone/baton-trayai/pkg/client"
	"github.com/conductorone/baton-trayai/pkg/config"
)

func TestSchemaRequiresTheToken(t *testing.T) {
	t.Parallel()
	test.ExerciseTestCases(t, config.Config, nil, []test.TestCase{
		{Configs: map[string]string{"auth-token": "abc"}, IsValid: true, Message: "token only"},
		{Configs: map[string]string{"auth-token": "abc", "region": "eu"}, IsValid: true, Message: "eu region"},
		{Configs: map[string]string{}, IsValid: false, Message: "no token"},
		{Configs: map[string]string{"auth-token": ""}, IsValid: false, Message: "empty token"},
	})
}

func TestParseSettingsAcceptsValidConfigurations(t *testing.T) {
	t.Parallel()
	cases := []struct {
		cfg     config.Trayai
		baseURL string
		types   []client.WorkspaceType
	}{
		{config.Trayai{AuthToken: "t"}, "https://api.tray.io", []client.WorkspaceType{"Organization", "Shared", "Embedded"}},
		{config.Trayai{AuthToken: "t", Region: "EU"}, "https://api.eu1.tray.io", nil},
		{config.Trayai{AuthToken: "t", Region: "apac"}, "https://api.ap1.tray.io", nil},
		{config.Trayai{AuthToken: "t", Region: "eu", BaseUrl: "https://proxy.example.com/tray/"}, "https://proxy.example.com/tray", nil},
		{config.Trayai{AuthToken: "t", BaseUrl: "http://127.0.0.1:8080"}, "http://127.0.0.1:8080", nil},
		{config.Trayai{AuthToken: "t", BaseUrl: "http://localhost:1"}, "http://localhost:1", nil},
		{config.Trayai{AuthToken: "t", BaseUrl: "http://[::1]:9"}, "http://[::1]:9", nil},
		{config.Trayai{AuthToken: "t", WorkspaceTypes: []string{"shared,personal"}}, "https://api.tray.io", []client.WorkspaceType{"Shared", "Personal"}},
	}
	for _, c := range cases {
		s, err := ParseSettings(&c.cfg)
		if err != nil {
			t.Fatalf("%+v: %v", c.cfg, err)
		}
		if s.BaseURL != c.baseURL {
			t.Errorf("%+v: base URL %s, want %s", c.cfg, s.BaseURL, c.baseURL)
		}
		if c.types != nil && len(s.WorkspaceTypes) != len(c.types) {
			t.Errorf("%+v: types %v, want %v", c.cfg, s.WorkspaceTypes, c.types)
		}
		for _, typ := range c.types {
			if !s.WorkspaceTypes[typ] {
				t.Errorf("%+v: %s not selected", c.cfg, typ)
			}
		}
		if s.RequestsPerSecond != client.DefaultRequestsPerSecond || s.AccountCreationMode != "invite" || s.FallbackOrgRole != "Viewer" {
			t.Errorf("%+v: defaults not applied: %+v", c.cfg, s)
		}
	}
}

func TestParseSettingsRejectsInvalidConfigurationsNamingTheFlag(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-token"
	cases := []struct {
		cfg  config.Trayai
		flag string
	}{
		{config.Trayai{}, "--auth-token"},
		{config.Trayai{AuthToken: secret + "\n"}, "--auth-token"},
		{config.Trayai{AuthToken: " " + secret}, "--auth-token"},
		{config.Trayai{AuthToken: "a b"}, "--auth-token"},
		{config.Trayai{AuthToken: secret, Region: "mars"}, "--region"},
		{config.Trayai{AuthToken: secret, BaseUrl: "ftp://api.tray.io"}, "--base-url"},
		{config.Trayai{AuthToken: secret, BaseUrl: "api.tray.io"}, "--base-url"},
		{config.Trayai{AuthToken: secret, BaseUrl: "http://api.tray.io"}, "--base-url"},
		{config.Trayai{AuthToken: secret, BaseUrl: "http://10.0.0.1"}, "--base-url"},
		{config.Trayai{AuthToken: secret, BaseUrl: "https://user:pw@api.tray.io"}, "--base-url"},
		{config.Trayai{AuthToken: secret, BaseUrl: "https://api.tray.io?x=1"}, "--base-url"},
		{config.Trayai{AuthToken: secret, BaseUrl: "://"}, "--base-url"},
		{config.Trayai{AuthToken: secret, WorkspaceTypes: []string{"Secret"}}, "--workspace-types"},
		{config.Trayai{AuthToken: secret, WorkspaceTypes: []string{","}}, "--workspace-types"},
		{config.Trayai{AuthToken: secret, RateLimit: 500}, "--rate-limit"},
		{config.Trayai{AuthToken: secret, RateLimit: -1}, "--rate-limit"},
		{config.Trayai{AuthToken: secret, AccountCreationMode: "magic"}, "--account-creation-mode"},
		{config.Trayai{AuthToken: secret, FallbackOrgRole: "owner"}, "--fallback-org-role"},
	}
	for _, c := range cases {
		_, err := ParseSettings(&c.cfg)
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("%+v: got %v, want InvalidArgument", c.cfg, err)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, c.flag) || strings.Contains(msg, "\n") || strings.Contains(msg, secret) {
			t.Errorf("%+v: message %q must be one line, name %s and not show the token", c.cfg, msg, c.flag)
		}
	}
}

func FuzzParseSettings(f *testing.F) {
	f.Add("tok", "us", "", "Shared,Personal", 25, "invite", "Viewer")
	f.Add("t\x00k", "EU", "http://127.0.0.1:1", "", 0, "create", "")
	f.Add("", "apac", "https://[::1", "x", 51, "", "Owner")
	f.Fuzz(func(t *testing.T, token, region, baseURL, types string, rps int, mode, fallback string) {
		cfg := &config.Trayai{AuthToken: token, Region: region, BaseUrl: baseURL, WorkspaceTypes: []string{types},
			RateLimit: rps, AccountCreationMode: mode, FallbackOrgRole: fallback}
		s, err := ParseSettings(cfg)
		if err != nil {
			if status.Code(err) != codes.InvalidArgument || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %v is not a one-line InvalidArgument", err)
			}
			if len(token) > 8 && strings.Contains(err.Error(), token) {
				t.Fatalf("error shows the token: %v", err)
			}
			return
		}
		if s.Token != token || s.BaseURL == "" || len(s.WorkspaceTypes) == 0 || s.RequestsPerSecond < 1 {
			t.Fatalf("accepted settings are incomplete: %+v", s)
		}
		if strings.HasPrefix(s.BaseURL, "http://") && !strings.HasPrefix(s.BaseURL, "http://127.") &&
			!strings.HasPrefix(s.BaseURL, "http://localhost") && !strings.HasPrefix(s.BaseURL, "http://[::1]") {
			t.Fatalf("plain http to a non-loopback host accepted: %s", s.BaseURL)
		}
	})
}

// pkg/config names Tray.ai's workspace types and rate for flags and help
// without importing the client; they must be the client's.
func TestConfigDefaultsAreTheClients(t *testing.T) {
	t.Parallel()
	if !slices.Equal(config.WorkspaceTypes, client.WorkspaceTypeNames()) {
		t.Errorf("config.WorkspaceTypes %v, the client knows %v", config.WorkspaceTypes, client.WorkspaceTypeNames())
	}
	for _, name := range config.DefaultWorkspaceTypes {
		if _, ok := client.ParseWorkspaceType(name); !ok {
			t.Errorf("default workspace type %q is not one the client knows", name)
		}
	}
	if config.DefaultRequestsPerSecond != client.DefaultRequestsPerSecond {
		t.Errorf("--rate-limit defaults to %d, the client to %d", config.DefaultRequestsPerSecond, client.DefaultRequestsPerSecond)
	}
}
