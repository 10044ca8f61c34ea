package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// StoredToken is one entry of a token store: the tokens of one identity,
// and an authorization started but not yet completed (the headless flow).
type StoredToken struct {
	AccessToken  string                `json:"access_token,omitempty"`
	RefreshToken string                `json:"refresh_token,omitempty"`
	Expiry       time.Time             `json:"expiry,omitzero"`
	Scopes       []string              `json:"scopes,omitempty"`
	Pending      *PendingAuthorization `json:"pending,omitempty"`
	UpdatedAt    time.Time             `json:"updated_at,omitzero"`
}

// String shows the entry's expiry and scopes, never a token.
func (e StoredToken) String() string {
	return fmt.Sprintf("StoredToken{expiry %s, scopes %s, pending %t}", e.Expiry.Format(time.RFC3339), strings.Join(e.Scopes, " "), e.Pending != nil)
}

// GoString is String, so that %#v hides the tokens too.
func (e StoredToken) GoString() string { return e.String() }

// PendingAuthorization is what completing an authorization needs besides
// the code: the PKCE verifier and the redirect URI it was started with.
type PendingAuthorization struct {
	CodeVerifier string    `json:"code_verifier"`
	RedirectURI  string    `json:"redirect_uri"`
	State        string    `json:"state"`
	Created      time.Time `json:"created"`
}

// String never shows the verifier.
func (p PendingAuthorization) String() string {
	return fmt.Sprintf("PendingAuthorization{RedirectURI: %s, State: %s, Created: %s}", p.RedirectURI, p.State, p.Created.Format(time.RFC3339))
}

// GoString is String, so that %#v hides the verifier too.
func (p PendingAuthorization) GoString() string { return p.String() }

// Store keeps tokens across connections and processes.
type Store interface {
	// Load returns the entry for key, or nil.
	Load(key string) (*StoredToken, error)
	// Update runs f on the entry for key (nil if none) while holding an
	// exclusive lock, across processes for a file, and stores what f
	// returns (nil deletes the entry). If f fails nothing is written.
	Update(key string, f func(*StoredToken) (*StoredToken, error)) error
	// Location names the store, for messages.
	Location() string
}

// StoreKey is the key of an identity's entry: the host, the OAuth client
// and the sorted scopes. Scopes belong in the key: a token for other scopes
// is another token (databricks-sdk-go issue #1427). offline_access does not:
// it asks for a refresh token, it grants no access.
func StoreKey(host, clientID string, scopes []string) string {
	sorted := slices.DeleteFunc(slices.Clone(scopes), func(s string) bool { return s == "offline_access" })
	slices.Sort(sorted)
	return strings.TrimRight(host, "/") + " " + clientID + " " + strings.Join(slices.Compact(sorted), ",")
}

// DefaultStoreLocation is the token file used when OAuthSettingsLocation is
// not given: lakelink/oauth-tokens.json in the user's config directory.
func DefaultStoreLocation() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no OAuthSettingsLocation given and no user config directory: %w", err)
	}
	return filepath.Join(dir, "lakelink", "oauth-tokens.json"), nil
}

// OpenStore opens the store at location: memory://NAME for one shared by
// this process only, else a file path ("" for the default file).
func OpenStore(location string) (Store, error) {
	if name, ok := strings.CutPrefix(location, "memory://"); ok {
		s, _ := memoryStores.LoadOrStore(name, &memoryStore{name: location, entries: map[string]*StoredToken{}})
		return s.(*memoryStore), nil
	}
	if location == "" {
		var err error
		if location, err = DefaultStoreLocation(); err != nil {
			return nil, err
		}
	}
	abs, err := filepath.Abs(location)
	if err != nil {
		return nil, fmt.Errorf("OAuthSettingsLocation %q: %w", location, err)
	}
	return &fileStore{path: abs}, nil
}

var memoryStores sync.Map // name -> *memoryStore

type memoryStore struct {
	name    string
	mu      sync.Mutex
	entries map[string]*StoredToken
}

func (m *memoryStore) Location() string { return m.name }

func (m *memoryStore) Load(key string) (*StoredToken, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return cloneEntry(m.entries[key]), nil
}

func (m *memoryStore) Update(key string, f func(*StoredToken) (*StoredToken, error)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	next, err := f(cloneEntry(m.entries[key]))
	if err != nil {
		return err
	}
	if next == nil {
		delete(m.entries, key)
	} else {
		m.entries[key] = cloneEntry(next)
	}
	return nil
}

func cloneEntry(e *StoredToken) *StoredToken {
	if e == nil {
		return nil
	}
	c := *e
	c.Scopes = slices.Clone(e.Scopes)
	if e.Pending != nil {
		p := *e.Pending
		c.Pending = &p
	}
	return &c
}

// fileStore is a JSON file of entries, written atomically (temporary file,
// fsync, rename) with mode 0600 in a 0700 directory. Updates hold an
// exclusive flock on a sibling .lock file and re-read the file after taking
// it, so that processes sharing the file use a rotating refresh token once.
type fileStore struct{ path string }

type storeFile struct {
	Version int                     `json:"version"`
	Entries map[string]*StoredToken `json:"entries"`
}

func (s *fileStore) Location() string { return s.path }

func (s *fileStore) Load(key string) (*StoredToken, error) {
	f, err := s.read()
	if err != nil {
		return nil, err
	}
	return f.Entries[key], nil
}

func (s *fileStore) Update(key string, f func(*StoredToken) (*StoredToken, error)) error {
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return fmt.Errorf("token store %s: %w", s.path, err)
	}
	lock, err := os.OpenFile(s.path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("token store %s: %w", s.path, err)
	}
	defer lock.Close()
	unlock, err := lockFile(lock)
	if err != nil {
		return fmt.Errorf("token store %s: locking: %w", s.path, err)
	}
	defer unlock()

	file, err := s.read()
	if err != nil {
		return err
	}
	next, err := f(file.Entries[key])
	if err != nil {
		return err
	}
	if next == nil {
		delete(file.Entries, key)
	} else {
		file.Entries[key] = next
	}
	return s.write(file)
}

// read parses the file; a missing file is an empty store, a corrupt one an
// error that names it (it is never silently replaced).
func (s *fileStore) read() (*storeFile, error) {
	data, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return &storeFile{Version: 1, Entries: map[string]*StoredToken{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("token store %s: %w", s.path, err)
	}
	var f storeFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("token store %s is corrupt (%v): lakelink will not overwrite it; fix or remove the file and log in again", s.path, err)
	}
	if f.Version != 1 {
		return nil, fmt.Errorf("token store %s has version %d; this lakelink reads version 1", s.path, f.Version)
	}
	if f.Entries == nil {
		f.Entries = map[string]*StoredToken{}
	}
	return &f, nil
}

func (s *fileStore) write(f *storeFile) error {
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(s.path)
	tmp, err := os.CreateTemp(dir, ".oauth-tokens-*")
	if err != nil {
		return fmt.Errorf("token store %s: %w", s.path, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), s.path)
	}
	if err != nil {
		return fmt.Errorf("token store %s: writing: %w", s.path, err)
	}
	if d, err := os.Open(dir); err == nil { // make the rename durable
		d.Sync()
		d.Close()
	}
	return nil
}
