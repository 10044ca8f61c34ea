package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
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
	// returns (nil deletes the entry). ctx bounds the wait for the lock.
	// If f fails nothing is written. If what f returns cannot be stored,
	// the error is a *NotSavedError.
	Update(ctx context.Context, key string, f func(*StoredToken) (*StoredToken, error)) error
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

func (m *memoryStore) Update(_ context.Context, key string, f func(*StoredToken) (*StoredToken, error)) error {
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
// fsync, rename, fsync of the directory) with mode 0600 in a 0700
// directory. Updates hold an exclusive flock on a sibling .lock file and
// re-read the file after taking it, so that processes sharing the file use
// a rotating refresh token once. Neither file is followed if it is a
// symbolic link, and only files and a directory no other user controls are
// used (see checkDir and openOwn).
type fileStore struct{ path string }

type storeFile struct {
	Version int                     `json:"version"`
	Entries map[string]*StoredToken `json:"entries"`
}

// answerRoom is the room an update reserves, on top of the store's current
// size, for what it will store: an entry holds two tokens of a few KiB.
const answerRoom = 64 << 10

// NotSavedError is what Update returns when f succeeded but its result
// could not be stored. For tokens, the caller holds the only copy of the
// new ones (a redeemed refresh token no longer works).
type NotSavedError struct {
	Location string
	Err      error
}

func (e *NotSavedError) Error() string {
	return fmt.Sprintf("token store %s was not updated: %v", e.Location, e.Err)
}

func (e *NotSavedError) Unwrap() error { return e.Err }

func (s *fileStore) Location() string { return s.path }

func (s *fileStore) Load(key string) (*StoredToken, error) {
	if err := checkDir(filepath.Dir(s.path)); err != nil {
		return nil, err
	}
	f, err := s.read()
	if err != nil {
		return nil, err
	}
	return f.Entries[key], nil
}

// Update also makes sure that it can write before it runs f: the new
// version of the file is created, written with room for f's answer and
// synced first, so that f never redeems a token the store could not keep.
// ctx bounds the wait for the lock.
func (s *fileStore) Update(ctx context.Context, key string, f func(*StoredToken) (*StoredToken, error)) error {
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("token store %s: %w", s.path, err)
	}
	if err := checkDir(dir); err != nil {
		return err
	}
	lock, err := openOwn(s.path+".lock", os.O_CREATE|os.O_RDWR)
	if err != nil {
		return err
	}
	defer lock.Close()
	unlock, err := lockFile(ctx, lock)
	if err != nil {
		return fmt.Errorf("token store %s: %w", s.path, err)
	}
	defer unlock()

	file, err := s.read()
	if err != nil {
		return err
	}
	next, err := s.reserve(file)
	if err != nil {
		return fmt.Errorf("token store %s cannot be written, so lakelink did not renew or store tokens: %w", s.path, err)
	}
	defer next.discard()
	entry, err := f(file.Entries[key])
	if err != nil {
		return err
	}
	if entry == nil {
		delete(file.Entries, key)
	} else {
		file.Entries[key] = entry
	}
	if err := next.commit(file); err != nil {
		return &NotSavedError{Location: s.path, Err: err}
	}
	return nil
}

// read parses the file; a missing file is an empty store, a corrupt one an
// error that names it (it is never silently replaced).
func (s *fileStore) read() (*storeFile, error) {
	data, err := readOwn(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return &storeFile{Version: 1, Entries: map[string]*StoredToken{}}, nil
	}
	if err != nil {
		return nil, err
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

// nextVersion is the store's next version: a temporary file beside it,
// already holding room for its content, put in place by commit.
type nextVersion struct {
	store     *fileStore
	tmp       *os.File
	committed bool
}

// reserve creates the next version and fills it with as many bytes as the
// current content plus answerRoom, synced: the disk space is taken and the
// directory writable before anything is redeemed.
func (s *fileStore) reserve(current *storeFile) (*nextVersion, error) {
	data, err := json.MarshalIndent(current, "", "  ")
	if err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), ".oauth-tokens-*")
	if err != nil {
		return nil, err
	}
	next := &nextVersion{store: s, tmp: tmp}
	if _, err = tmp.Write(bytes.Repeat([]byte{' '}, len(data)+answerRoom)); err == nil {
		err = tmp.Sync()
	}
	if err != nil {
		next.discard()
		return nil, err
	}
	return next, nil
}

// commit writes f over the reserved bytes and renames the file into place.
func (n *nextVersion) commit(f *storeFile) error {
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	_, err = n.tmp.WriteAt(data, 0)
	if err == nil {
		err = n.tmp.Truncate(int64(len(data)))
	}
	if err == nil {
		err = n.tmp.Sync()
	}
	if err == nil {
		err = os.Rename(n.tmp.Name(), n.store.path)
	}
	if err != nil {
		return err
	}
	n.committed = true
	if d, err := os.Open(filepath.Dir(n.store.path)); err == nil { // make the rename durable
		d.Sync()
		d.Close()
	}
	return nil
}

// discard closes the next version and removes it unless it was committed.
func (n *nextVersion) discard() {
	n.tmp.Close()
	if !n.committed {
		os.Remove(n.tmp.Name())
	}
}

// checkDir refuses a store directory another user controls: one owned by
// another user (root aside), or one others may write to unless it is
// sticky (as /tmp), where others cannot replace the user's files.
func checkDir(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil // Update creates it, 0700
	}
	if err != nil {
		return fmt.Errorf("token store directory %s: %w", dir, err)
	}
	if owner, ok := ownerOf(fi); ok && owner != os.Geteuid() && owner != 0 {
		return fmt.Errorf("token store directory %s is owned by uid %d, not by you: use a directory of yours as OAuthSettingsLocation", dir, owner)
	}
	if fi.Mode().Perm()&0o022 != 0 && fi.Mode()&os.ModeSticky == 0 {
		return fmt.Errorf("token store directory %s may be written by other users (mode %v), who could replace the tokens: "+
			"run `chmod go-w %s`, or use a directory of yours as OAuthSettingsLocation", dir, fi.Mode().Perm(), dir)
	}
	return nil
}

// openOwn opens path without following a symbolic link and makes sure it
// is a regular file of the user's.
func openOwn(path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path, flag|syscall.O_NOFOLLOW, 0o600)
	if isSymlinkRefusal(err) {
		return nil, fmt.Errorf("%s is a symbolic link: lakelink does not follow one there; remove it", path)
	}
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("token store file %s: %w", path, err)
	}
	if err := checkOwn(f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// checkOwn makes sure f is a regular file of the user's.
func checkOwn(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("token store file %s: %w", f.Name(), err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file: remove it", f.Name())
	}
	if owner, ok := ownerOf(fi); ok && owner != os.Geteuid() {
		return fmt.Errorf("%s is owned by uid %d, not by you: lakelink uses only its own files there; remove it", f.Name(), owner)
	}
	return nil
}

// readOwn reads path, a regular file of the user's (see openOwn).
func readOwn(path string) ([]byte, error) {
	f, err := openOwn(path, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("token store %s: %w", path, err)
	}
	return data, nil
}
