package connector

import (
	"net"
	"net/url"
	"strings"
	"time"
	"unicode"

	"google.golang.org/grpc/codes"

	"github.com/conductorone/baton-trayai/pkg/client"
	"github.com/conductorone/baton-trayai/pkg/config"
)

// Settings is the validated configuration of a connector.
type Settings struct {
	BaseURL              string
	Token                string
	WorkspaceTypes       map[client.WorkspaceType]bool
	RequestsPerSecond    int
	AccountCreationMode  string
	DefaultWorkspaceRole string
	FallbackOrgRole      string
	// ListedMembershipsOnly leaves out the Admin role org Owners and Admins
	// hold in every workspace.
	ListedMembershipsOnly bool
	// OutageBudget is how long Tray may fail before a run gives up.
	OutageBudget time.Duration
	// Protected are the accounts provisioning never weakens.
	Protected protection

	// tuneClient lets tests shorten backoffs; nil in production.
	tuneClient func(*client.Options)
}

// maxRequestsPerSecond is Tray's documented burst ceiling; a steady rate at
// or above it would only collect 429s.
const maxRequestsPerSecond = 50

func invalid(format string, args ...any) error { return errorf(codes.InvalidArgument, format, args...) }

// ParseSettings validates a configuration before any network call. Every
// error is one line that names the flag to fix.
func ParseSettings(cfg *config.Trayai) (Settings, error) {
	if cfg == nil {
		return Settings{}, invalid("no configuration given")
	}
	s := Settings{
		Token:                 cfg.AuthToken,
		AccountCreationMode:   strings.ToLower(strings.TrimSpace(cfg.AccountCreationMode)),
		DefaultWorkspaceRole:  strings.TrimSpace(cfg.DefaultWorkspaceRole),
		FallbackOrgRole:       strings.TrimSpace(cfg.FallbackOrgRole),
		RequestsPerSecond:     cfg.RateLimit,
		ListedMembershipsOnly: cfg.ListedMembershipsOnly,
	}
	if err := checkToken(cfg.AuthToken); err != nil {
		return Settings{}, err
	}

	region := strings.ToLower(strings.TrimSpace(cfg.Region))
	if region == "" {
		region = config.DefaultRegion
	}
	host, ok := config.RegionHost(region)
	if !ok {
		return Settings{}, invalid("--region %q is not a Tray.ai region: use %s", cfg.Region, strings.Join(config.RegionNames(), ", "))
	}
	s.BaseURL = host
	if strings.TrimSpace(cfg.BaseUrl) != "" {
		u, err := checkBaseURL(cfg.BaseUrl)
		if err != nil {
			return Settings{}, err
		}
		s.BaseURL = u
	}

	types := cfg.WorkspaceTypes
	if len(types) == 0 {
		types = config.DefaultWorkspaceTypes
	}
	s.WorkspaceTypes = map[client.WorkspaceType]bool{}
	for _, raw := range types {
		for _, part := range strings.Split(raw, ",") {
			if strings.TrimSpace(part) == "" {
				continue
			}
			t, ok := client.ParseWorkspaceType(part)
			if !ok {
				return Settings{}, invalid("--workspace-types: %q is not a Tray.ai workspace type: use %s", strings.TrimSpace(part), workspaceTypeList())
			}
			s.WorkspaceTypes[t] = true
		}
	}
	if len(s.WorkspaceTypes) == 0 {
		return Settings{}, invalid("--workspace-types is empty: name at least one of %s", workspaceTypeList())
	}

	if s.RequestsPerSecond == 0 {
		s.RequestsPerSecond = config.DefaultRequestsPerSecond
	}
	if s.RequestsPerSecond < 1 || s.RequestsPerSecond > maxRequestsPerSecond {
		return Settings{}, invalid("--rate-limit %d is out of range: use 1 to %d requests per second (Tray.ai allows 30)", cfg.RateLimit, maxRequestsPerSecond)
	}

	switch s.AccountCreationMode {
	case "":
		s.AccountCreationMode = config.AccountCreationInvite
	case config.AccountCreationInvite, config.AccountCreationCreate:
	default:
		return Settings{}, invalid("--account-creation-mode %q is not valid: use invite or create", cfg.AccountCreationMode)
	}
	if s.DefaultWorkspaceRole == "" {
		s.DefaultWorkspaceRole = config.DefaultRoleName
	}
	if s.FallbackOrgRole == "" {
		s.FallbackOrgRole = config.DefaultRoleName
	}
	if isOwnerName(s.FallbackOrgRole) {
		return Settings{}, invalid("--fallback-org-role cannot be Owner: use Viewer, Contributor or Admin")
	}
	switch budget := cfg.OutageBudgetSeconds; {
	case budget == 0:
		s.OutageBudget = config.DefaultOutageBudgetSeconds * time.Second
	case budget < 1 || budget > 24*3600:
		return Settings{}, invalid("--outage-budget-seconds %d is out of range: use 1 to 86400", budget)
	default:
		s.OutageBudget = time.Duration(budget) * time.Second
	}
	var err error
	if s.Protected, err = parseProtection(cfg.ConnectorAccount, cfg.ProtectedAccounts); err != nil {
		return Settings{}, err
	}
	return s, nil
}

func workspaceTypeList() string { return strings.Join(client.WorkspaceTypeNames(), ", ") }

func checkToken(token string) error {
	if token == "" {
		return invalid("--auth-token is empty: set it (or BATON_AUTH_TOKEN) to a Tray.ai API-user token")
	}
	for _, r := range token {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			// Do not echo the token: it is a secret even when malformed.
			return invalid("--auth-token contains whitespace or control characters: paste the token without spaces or line breaks")
		}
	}
	return nil
}

// checkBaseURL accepts https anywhere and plain http only on loopback, so
// the bearer token never crosses a network unencrypted.
func checkBaseURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "", invalid("--base-url %q is not a URL: use e.g. https://api.tray.io", raw)
	}
	if u.User != nil {
		return "", invalid("--base-url must not contain credentials: pass the token with --auth-token")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", invalid("--base-url %q must not have a query or fragment", raw)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return "", invalid("--base-url %q uses http: the token is only sent over https, except to a loopback address", raw)
		}
	default:
		return "", invalid("--base-url %q is not an http(s) URL", raw)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
