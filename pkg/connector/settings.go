package connector

import (
	"net"
	"net/url"
	"strings"
	"time"
	"unicode"

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
	// Version is the connector's version, sent in the User-Agent; the
	// command fills it in from its build ("dev" when empty).
	Version string
}

// maxRequestsPerSecond is Tray's documented burst ceiling; a steady rate at
// or above it would only collect 429s.
const maxRequestsPerSecond = 50

// ParseSettings validates a configuration before any network call. Every
// error is one line that names the flag to fix.
func ParseSettings(cfg *config.Trayai) (Settings, error) {
	if cfg == nil {
		return Settings{}, invalid("no configuration given")
	}
	if err := checkToken(cfg.AuthToken); err != nil {
		return Settings{}, err
	}
	s := Settings{
		Token:                 cfg.AuthToken,
		DefaultWorkspaceRole:  orDefault(cfg.DefaultWorkspaceRole, config.DefaultRoleName),
		FallbackOrgRole:       orDefault(cfg.FallbackOrgRole, config.DefaultRoleName),
		ListedMembershipsOnly: cfg.ListedMembershipsOnly,
	}
	var err error
	if s.BaseURL, err = parseBaseURL(cfg.Region, cfg.BaseUrl); err != nil {
		return Settings{}, err
	}
	if s.WorkspaceTypes, err = parseWorkspaceTypes(cfg.WorkspaceTypes); err != nil {
		return Settings{}, err
	}
	if s.RequestsPerSecond, err = parseRateLimit(cfg.RateLimit); err != nil {
		return Settings{}, err
	}
	if s.AccountCreationMode, err = parseAccountCreationMode(cfg.AccountCreationMode); err != nil {
		return Settings{}, err
	}
	if isOwnerName(s.FallbackOrgRole) {
		return Settings{}, invalid("--fallback-org-role cannot be Owner: use Viewer, Contributor or Admin")
	}
	if s.OutageBudget, err = parseOutageBudget(cfg.OutageBudgetSeconds); err != nil {
		return Settings{}, err
	}
	if s.Protected, err = parseProtection(cfg.ConnectorAccount, cfg.ProtectedAccounts); err != nil {
		return Settings{}, err
	}
	return s, nil
}

// orDefault is the trimmed value, or def when it is empty.
func orDefault(value, def string) string {
	if v := strings.TrimSpace(value); v != "" {
		return v
	}
	return def
}

// parseBaseURL is the API host of --region, unless --base-url names one.
func parseBaseURL(region, baseURL string) (string, error) {
	name := strings.ToLower(strings.TrimSpace(region))
	if name == "" {
		name = config.DefaultRegion
	}
	host, ok := config.RegionHost(name)
	if !ok {
		return "", invalid("--region %q is not a Tray.ai region: use %s", region, strings.Join(config.RegionNames(), ", "))
	}
	if strings.TrimSpace(baseURL) == "" {
		return host, nil
	}
	return checkBaseURL(baseURL)
}

// parseWorkspaceTypes reads --workspace-types: names, or comma-separated
// lists of names, in any case.
func parseWorkspaceTypes(values []string) (map[client.WorkspaceType]bool, error) {
	if len(values) == 0 {
		values = config.DefaultWorkspaceTypes
	}
	types := map[client.WorkspaceType]bool{}
	for _, raw := range values {
		for _, part := range strings.Split(raw, ",") {
			if strings.TrimSpace(part) == "" {
				continue
			}
			t, ok := client.ParseWorkspaceType(part)
			if !ok {
				return nil, invalid("--workspace-types: %q is not a Tray.ai workspace type: use %s", strings.TrimSpace(part), workspaceTypeList())
			}
			types[t] = true
		}
	}
	if len(types) == 0 {
		return nil, invalid("--workspace-types is empty: name at least one of %s", workspaceTypeList())
	}
	return types, nil
}

// parseRateLimit reads --rate-limit; 0 is its default.
func parseRateLimit(rps int) (int, error) {
	if rps == 0 {
		return config.DefaultRequestsPerSecond, nil
	}
	if rps < 1 || rps > maxRequestsPerSecond {
		return 0, invalid("--rate-limit %d is out of range: use 1 to %d requests per second (Tray.ai allows 30)", rps, maxRequestsPerSecond)
	}
	return rps, nil
}

// parseAccountCreationMode reads --account-creation-mode, in any case.
func parseAccountCreationMode(mode string) (string, error) {
	switch m := strings.ToLower(strings.TrimSpace(mode)); m {
	case "":
		return config.AccountCreationInvite, nil
	case config.AccountCreationInvite, config.AccountCreationCreate:
		return m, nil
	default:
		return "", invalid("--account-creation-mode %q is not valid: use invite or create", mode)
	}
}

// parseOutageBudget reads --outage-budget-seconds; 0 is its default.
func parseOutageBudget(seconds int) (time.Duration, error) {
	switch {
	case seconds == 0:
		return config.DefaultOutageBudgetSeconds * time.Second, nil
	case seconds < 1 || seconds > 24*3600:
		return 0, invalid("--outage-budget-seconds %d is out of range: use 1 to 86400", seconds)
	default:
		return time.Duration(seconds) * time.Second, nil
	}
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
