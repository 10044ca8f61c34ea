//go:build wasip1

package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/oauth2"
	"gopkg.in/ini.v1"

	"github.com/lakelink/lakelink/core/connstr"
	"github.com/lakelink/lakelink/core/redact"
)

// This file is unified auth in lakelink.wasm: databricks-sdk-go's
// configuration resolution (config.go, config_attributes.go,
// config_file.go and auth_default.go of databricks-sdk-go v0.180.0),
// followed step by step for the two auth types a module can serve, pat
// and oauth-m2m, with the SDK's messages. wasm/hosttest's
// TestExportsAgreeOnUnifiedAuth holds it to the SDK's answers.

// unifiedAttribute is one attribute of the SDK's Config: its name (the
// profile's key), its environment variable, the auth method it belongs to
// ("" for none), and how the SDK shows and parses it.
type unifiedAttribute struct {
	name, env, auth     string
	sensitive, internal bool // internal: left out of the debug string
	kind                byte // 's' string, 'b' bool, 'i' int, 'l' comma-separated list
}

// unifiedAttributes are the SDK Config's attributes, in its field order
// (the order of its messages' "Config: ..." part).
var unifiedAttributes = []unifiedAttribute{
	{name: "host", env: "DATABRICKS_HOST", kind: 's'},
	{name: "cluster_id", env: "DATABRICKS_CLUSTER_ID", kind: 's'},
	{name: "warehouse_id", env: "DATABRICKS_WAREHOUSE_ID", kind: 's'},
	{name: "serverless_compute_id", env: "DATABRICKS_SERVERLESS_COMPUTE_ID", kind: 's'},
	{name: "metadata_service_url", env: "DATABRICKS_METADATA_SERVICE_URL", auth: "metadata-service", sensitive: true, kind: 's'},
	{name: "account_id", env: "DATABRICKS_ACCOUNT_ID", kind: 's'},
	{name: "workspace_id", env: "DATABRICKS_WORKSPACE_ID", kind: 's'},
	{name: "group_id", env: "DATABRICKS_GROUP_ID", kind: 's'},
	{name: "token", env: "DATABRICKS_TOKEN", auth: "pat", sensitive: true, kind: 's'},
	{name: "username", env: "DATABRICKS_USERNAME", auth: "basic", kind: 's'},
	{name: "password", env: "DATABRICKS_PASSWORD", auth: "basic", sensitive: true, kind: 's'},
	{name: "profile", env: "DATABRICKS_CONFIG_PROFILE", kind: 's'},
	{name: "config_file", env: "DATABRICKS_CONFIG_FILE", kind: 's'},
	{name: "oauth_callback_port", env: "DATABRICKS_OAUTH_CALLBACK_PORT", internal: true, kind: 'i'},
	{name: "google_service_account", env: "DATABRICKS_GOOGLE_SERVICE_ACCOUNT", auth: "google", kind: 's'},
	{name: "google_credentials", env: "GOOGLE_CREDENTIALS", auth: "google", sensitive: true, kind: 's'},
	{name: "azure_workspace_resource_id", env: "DATABRICKS_AZURE_RESOURCE_ID", auth: "azure", kind: 's'},
	{name: "azure_use_msi", env: "ARM_USE_MSI", auth: "azure", kind: 'b'},
	{name: "azure_client_secret", env: "ARM_CLIENT_SECRET", auth: "azure", sensitive: true, kind: 's'},
	{name: "azure_client_id", env: "ARM_CLIENT_ID", auth: "azure", kind: 's'},
	{name: "azure_tenant_id", env: "ARM_TENANT_ID", auth: "azure", kind: 's'},
	{name: "actions_id_token_request_url", env: "ACTIONS_ID_TOKEN_REQUEST_URL", kind: 's'},
	{name: "actions_id_token_request_token", env: "ACTIONS_ID_TOKEN_REQUEST_TOKEN", kind: 's'},
	{name: "azure_environment", env: "ARM_ENVIRONMENT", kind: 's'},
	{name: "azure_login_app_id", env: "DATABRICKS_AZURE_LOGIN_APP_ID", auth: "azure", kind: 's'},
	{name: "client_id", env: "DATABRICKS_CLIENT_ID", auth: "oauth", kind: 's'},
	{name: "client_secret", env: "DATABRICKS_CLIENT_SECRET", auth: "oauth", sensitive: true, kind: 's'},
	{name: "scopes", internal: true, kind: 'l'},
	{name: "disable_oauth_refresh_token", env: "DATABRICKS_DISABLE_OAUTH_REFRESH_TOKEN", internal: true, kind: 'b'},
	{name: "databricks_cli_path", env: "DATABRICKS_CLI_PATH", kind: 's'},
	{name: "auth_type", env: "DATABRICKS_AUTH_TYPE", internal: true, kind: 's'},
	{name: "databricks_id_token_filepath", env: "DATABRICKS_OIDC_TOKEN_FILEPATH", auth: "file-oidc", kind: 's'},
	{name: "oidc_token_env", env: "DATABRICKS_OIDC_TOKEN_ENV", auth: "env-oidc", kind: 's'},
	{name: "skip_verify", internal: true, kind: 'b'},
	{name: "http_timeout_seconds", internal: true, kind: 'i'},
	{name: "debug_truncate_bytes", env: "DATABRICKS_DEBUG_TRUNCATE_BYTES", internal: true, kind: 'i'},
	{name: "debug_headers", env: "DATABRICKS_DEBUG_HEADERS", internal: true, kind: 'b'},
	{name: "rate_limit", env: "DATABRICKS_RATE_LIMIT", internal: true, kind: 'i'},
	{name: "retry_timeout_seconds", internal: true, kind: 'i'},
	{name: "cloud", env: "DATABRICKS_CLOUD", internal: true, kind: 's'},
	{name: "audience", env: "DATABRICKS_TOKEN_AUDIENCE", internal: true, kind: 's'},
	{name: "discovery_url", env: "DATABRICKS_DISCOVERY_URL", internal: true, kind: 's'},
}

// sdkAuthTypes are the SDK's auth types (its default chain's names) that
// lakelink.wasm cannot serve: they run a program, read a cloud's metadata
// service or a token cache of the databricks CLI.
var sdkAuthTypes = []string{"databricks-cli", "metadata-service", "github-oidc", "azure-devops-oidc", "env-oidc", "file-oidc",
	"github-oidc-azure", "azure-msi", "azure-client-secret", "azure-cli", "google-credentials", "google-id"}

// unifiedDocURL is where the SDK's messages send a user.
const unifiedDocURL = "https://docs.databricks.com/en/dev-tools/auth.html#databricks-client-unified-authentication"

// unifiedConfig is a configuration being resolved: the attributes' values
// by name, as the SDK holds them (a false bool and a zero int are unset).
type unifiedConfig map[string]string

// set sets attribute a from the text v, parsed as the SDK's SetS does.
func (u unifiedConfig) set(a unifiedAttribute, v string) error {
	switch a.kind {
	case 'b':
		b, err := strconv.ParseBool(v)
		if err != nil {
			return err
		}
		if v = ""; b {
			v = "true"
		}
	case 'i':
		n, err := strconv.Atoi(v)
		if err != nil {
			return err
		}
		if v = ""; n != 0 {
			v = strconv.Itoa(n)
		}
	case 'l':
		var parts []string
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		v = strings.Join(parts, ",")
	}
	if v == "" {
		delete(u, a.name)
	} else {
		u[a.name] = v
	}
	return nil
}

// fill sets, from values, each attribute still unset (the SDK's
// environment loader and ResolveFromStringMap: what is set stays).
func (u unifiedConfig) fill(value func(unifiedAttribute) string) error {
	for _, a := range unifiedAttributes {
		if u[a.name] != "" {
			continue
		}
		if v := value(a); v != "" {
			if err := u.set(a, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// debug is the SDK's ConfigAttributes.DebugString: the attributes set
// (secrets as ***) and the environment variables that are.
func (u unifiedConfig) debug() string {
	var attrs, envs []string
	for _, a := range unifiedAttributes {
		if u[a.name] == "" || a.internal {
			continue
		}
		v := "***"
		if !a.sensitive {
			v = u[a.name]
		}
		attrs = append(attrs, a.name+"="+v)
		if a.env != "" && os.Getenv(a.env) != "" {
			envs = append(envs, a.env)
		}
	}
	var parts []string
	if len(attrs) > 0 {
		parts = append(parts, "Config: "+strings.Join(attrs, ", "))
	}
	if len(envs) > 0 {
		parts = append(parts, "Env: "+strings.Join(envs, ", "))
	}
	return strings.Join(parts, ". ")
}

// wrapDebug is the SDK's Config.wrapDebug.
func (u unifiedConfig) wrapDebug(err error) error {
	if d := u.debug(); d != "" {
		return fmt.Errorf("%w. %s", err, d)
	}
	return err
}

// authsUsed are the auth methods whose attributes are set, sorted.
func (u unifiedConfig) authsUsed() []string {
	var used []string
	for _, a := range unifiedAttributes {
		if a.auth != "" && u[a.name] != "" && !slices.Contains(used, a.auth) {
			used = append(used, a.auth)
		}
	}
	slices.Sort(used)
	return used
}

// resolveUnified resolves the options' unified auth configuration as the
// SDK's EnsureResolved does with lakelink's loaders (sdk.go): the options,
// then DATABRICKS_* variables, then the profile, then Host's rule, then the
// check that one auth method is configured. The error is the SDK's, the
// hostRule's as it is.
func resolveUnified(o *connstr.Options) (unifiedConfig, error) {
	u := unifiedConfig{}
	given := map[string]string{"host": o.Host, "profile": o.Profile, "config_file": o.ConfigFile, "discovery_url": o.DiscoveryURL,
		"client_id": o.OAuthClientID, "client_secret": o.OAuthClientSecret, "token": o.Token, "scopes": strings.Join(o.Scopes(), ",")}
	if s := int(o.Timeout.Seconds()); s > 0 {
		given["http_timeout_seconds"] = strconv.Itoa(s)
	}
	u.fill(func(a unifiedAttribute) string { return given[a.name] })
	if err := u.fill(func(a unifiedAttribute) string {
		if a.env == "" {
			return ""
		}
		return os.Getenv(a.env)
	}); err != nil {
		return nil, u.wrapDebug(fmt.Errorf("resolve: %w", err))
	}
	if err := u.loadProfile(); err != nil {
		return nil, u.wrapDebug(fmt.Errorf("resolve: %w", err))
	}
	if err := checkUnifiedHost(u["host"]); err != nil {
		return nil, &ownError{err}
	}
	if used := u.authsUsed(); len(used) > 1 && u["auth_type"] == "" {
		return nil, u.wrapDebug(fmt.Errorf("validate: more than one authorization method configured: %s", strings.Join(used, " and ")))
	}
	if scopes := u["scopes"]; scopes != "" { // sorted and without duplicates, as the SDK's
		parts := strings.Split(scopes, ",")
		slices.Sort(parts)
		u["scopes"] = strings.Join(slices.Compact(parts), ",")
	}
	return u, nil
}

// loadProfile is the SDK's config file loader: the profile asked for (or
// [__settings__]'s default_profile, or DEFAULT) of ~/.databrickscfg (or
// config_file) fills the attributes still unset. No profile is read when
// no profile is asked for and some auth attribute or the host is set.
func (u unifiedConfig) loadProfile() error {
	if u["profile"] == "" && (len(u.authsUsed()) > 0 || u["host"] != "" || u["azure_workspace_resource_id"] != "") {
		return nil
	}
	path := u["config_file"]
	if path == "" {
		path = "~/.databrickscfg"
	}
	file, err := loadConfigFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return fmt.Errorf("cannot parse config file: %w", err)
	}
	path = file.path
	profile, fallback, err := configFileProfile(u["profile"], file.File)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	values := file.Section(profile)
	if len(values.Keys()) == 0 {
		if fallback {
			return nil
		}
		return fmt.Errorf("%s has no %s profile configured", path, profile)
	}
	keys := values.KeysHash()
	if err := u.fill(func(a unifiedAttribute) string { return keys[a.name] }); err != nil {
		return fmt.Errorf("%s %s profile: %w", path, profile, err)
	}
	u["profile"] = profile
	return nil
}

// configFile is a parsed databrickscfg file and its path.
type configFile struct {
	*ini.File
	path string
}

// loadConfigFile is the SDK's LoadFile: ~ is $HOME, and inline comments
// need a space before '#' (passwords may hold one).
func loadConfigFile(path string) (*configFile, error) {
	if strings.HasPrefix(path, "~") {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("cannot find homedir: %w", err)
		}
		path = home + path[1:]
	}
	f, err := ini.LoadSources(ini.LoadOptions{SpaceBeforeInlineComment: true}, path)
	if err != nil {
		return nil, err
	}
	return &configFile{f, path}, nil
}

// configFileProfile is the SDK's resolveProfile: the profile asked for, or
// [__settings__]'s default_profile, or DEFAULT as a fallback.
func configFileProfile(asked string, f *ini.File) (profile string, fallback bool, err error) {
	const settings = "__settings__"
	reserved := fmt.Errorf("%s is a reserved section name and cannot be used as a profile", settings)
	if asked != "" {
		if asked == settings {
			return "", false, reserved
		}
		return asked, false, nil
	}
	if section, err := f.GetSection(settings); err == nil {
		if key, err := section.GetKey("default_profile"); err == nil {
			if v := strings.TrimSpace(key.String()); v != "" {
				if v == settings {
					return "", false, reserved
				}
				return v, false, nil
			}
		}
	}
	return "DEFAULT", true, nil
}

// canonicalHost is the SDK's fixHostIfNeeded: scheme and host only, https
// when no scheme is given.
func canonicalHost(host string) string {
	if host == "" {
		return ""
	}
	u, err := url.Parse(host)
	if err == nil && u.Host == "" {
		u, err = url.Parse("https://" + host)
	}
	if err != nil || u.Hostname() == "" {
		return host
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host}).String()
}

// HostMetadata is the part of a workspace's /.well-known/databricks-config
// that unified auth uses (the SDK's HostMetadata).
type HostMetadata struct {
	OIDCEndpoint string `json:"oidc_endpoint"`
	AccountID    string `json:"account_id"`
	WorkspaceID  string `json:"workspace_id"`
}

// FetchHostMetadata reads host's /.well-known/databricks-config through
// client, as the SDK does while resolving a configuration; nil when it
// cannot (the SDK then goes on without).
func FetchHostMetadata(ctx context.Context, client *http.Client, host string) *HostMetadata {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, host+"/.well-known/databricks-config", nil)
	if err != nil {
		return nil
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var meta HostMetadata
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&meta) != nil {
		return nil
	}
	return &meta
}

// addHostMetadata is the SDK's resolveHostMetadata: the account, the
// workspace and the OIDC discovery URL, where the configuration has none.
func (c *Config) addHostMetadata(ctx context.Context, u unifiedConfig) {
	if u["host"] == "" {
		return
	}
	u["host"] = canonicalHost(u["host"])
	meta := FetchHostMetadata(ctx, c.client, u["host"])
	if meta == nil {
		return
	}
	for name, v := range map[string]string{"account_id": meta.AccountID, "workspace_id": meta.WorkspaceID} {
		if u[name] == "" && v != "" {
			u[name] = v
		}
	}
	if root := meta.OIDCEndpoint; u["discovery_url"] == "" && root != "" {
		if strings.Contains(root, "{account_id}") {
			if u["account_id"] == "" {
				return
			}
			root = strings.ReplaceAll(root, "{account_id}", u["account_id"])
		}
		u["discovery_url"] = strings.TrimRight(root, "/") + "/.well-known/oauth-authorization-server"
	}
}

// unifiedCredentials is the SDK's default credentials chain for what a
// module can serve: the auth type named, or the first of pat, basic and
// oauth-m2m that is configured. It returns the auth type and, for
// oauth-m2m, the options of lakelink's own client credentials grant.
func (c *Config) unifiedCredentials(ctx context.Context, log *logger, u unifiedConfig, o *connstr.Options) (string, *connstr.Options, error) {
	m2m := &connstr.Options{Host: u["host"], DiscoveryURL: u["discovery_url"], OAuthClientID: u["client_id"],
		OAuthClientSecret: u["client_secret"], Scope: u["scopes"], Timeout: o.Timeout}
	if m2m.DiscoveryURL == "" && m2m.Host != "" {
		m2m.DiscoveryURL = m2m.Host + "/oidc/.well-known/oauth-authorization-server"
	}
	configure := func(authType string) (bool, error) {
		switch authType {
		case "pat":
			if u["host"] == "" {
				return false, errors.New("host is required for PAT authentication")
			}
			if u["token"] == "" {
				return false, errors.New("token is required")
			}
		case "basic":
			if u["username"] == "" || u["password"] == "" || u["host"] == "" {
				return false, nil
			}
		case "oauth-m2m":
			if u["client_id"] == "" || u["client_secret"] == "" {
				return false, nil
			}
			if _, err := c.discover(ctx, log, m2m.DiscoveryURL); err != nil {
				return false, fmt.Errorf("oidc: %w", err)
			}
		}
		return true, nil
	}
	if authType := u["auth_type"]; authType != "" {
		switch {
		case slices.Contains(sdkAuthTypes, authType):
			return "", nil, u.wrapDebug(fmt.Errorf("default auth: auth type %q is not available in lakelink.wasm (WASI): "+
				"it supports pat and oauth-m2m (see wasm/README.md)", authType))
		case authType != "pat" && authType != "basic" && authType != "oauth-m2m":
			return "", nil, u.wrapDebug(fmt.Errorf("default auth: auth type %q not found, please check %s for a list of supported auth types",
				authType, unifiedDocURL))
		}
		ok, err := configure(authType)
		if err != nil {
			return "", nil, u.wrapDebug(fmt.Errorf("default auth: %w", err))
		}
		if !ok {
			return "", nil, u.wrapDebug(fmt.Errorf("%s auth: not configured", authType))
		}
		return authType, m2m, nil
	}
	for _, authType := range []string{"pat", "basic", "oauth-m2m"} {
		if ok, err := configure(authType); ok && err == nil {
			return authType, m2m, nil
		}
	}
	return "", nil, u.wrapDebug(fmt.Errorf("default auth: cannot configure default credentials, please check %s "+
		"to configure credentials for your preferred authentication method", unifiedDocURL))
}

// sdkSource serves AuthScheme=Databricks in lakelink.wasm: resolved as
// the SDK resolves it, with a personal access token used as is and a
// service principal's secret through lakelink's client credentials grant.
func (c *Config) sdkSource(o *connstr.Options) (*Source, error) {
	s := &Source{identity: "Databricks unified auth", refreshable: true}
	s.fetch = func(ctx context.Context, refused string) (*oauth2.Token, error) {
		u, err := resolveUnified(o)
		if err != nil {
			return nil, SDKError("Databricks unified auth", err)
		}
		ctx, cancel := context.WithTimeout(ctx, timeout(o))
		defer cancel()
		c.addHostMetadata(ctx, u)
		failed := fmt.Sprintf("Databricks unified auth (host %q, profile %q)", redact.URL(u["host"]), u["profile"])
		authType, m2m, err := c.unifiedCredentials(ctx, s.log, u, o)
		if err != nil && u["auth_type"] != "pat" { // sdk.go uses a token of auth_type pat as is, even without a host
			return nil, SDKError(failed, err)
		}
		if err != nil {
			authType = "pat"
		}
		s.log.info("Databricks unified auth resolved", "auth_type", authType, "host", u["host"])
		switch authType {
		case "pat":
			return &oauth2.Token{AccessToken: u["token"], TokenType: "Bearer"}, nil
		case "oauth-m2m":
			grant, err := c.clientCredentialsSource(m2m)
			if err != nil {
				return nil, SDKError(failed, err)
			}
			grant.log = s.log
			tok, err := grant.fetch(ctx, refused)
			return tok, SDKError(failed, err)
		}
		return nil, SDKError(failed, fmt.Errorf("OAuth Token not supported for current auth type %s", authType))
	}
	return s, nil
}

// unifiedWorkspace is the workspace URL that unified auth resolves for the
// options and the profile it read (loadProfile sets it, as the SDK's
// loader does), for UnifiedAuthWorkspace.
func (c *Config) unifiedWorkspace(o *connstr.Options) (host, profile string, err error) {
	u, err := resolveUnified(o)
	if err != nil {
		return "", "", SDKError("Databricks configuration", err)
	}
	return canonicalHost(u["host"]), u["profile"], nil
}

// SDKAuthVisitor lets databricks-sdk-go's httpclient call with the tokens
// of s (lakelink.wasm's SDKCredentials). An error of s reaches the
// client's caller through SDKError as it is.
func SDKAuthVisitor(s *Source) func(*http.Request) error {
	return func(r *http.Request) error {
		tok, err := s.TokenContext(r.Context())
		if err != nil {
			return &ownError{err}
		}
		tok.SetAuthHeader(r)
		return nil
	}
}
