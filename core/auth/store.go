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
	// the error is a *NotSavedError, and the store keeps it for this
	// process, as Save does.
	Update(ctx context.Context, key string, f func(*StoredToken) (*StoredToken, error)) error
	// Save stores entry, tokens already obtained, for key. If it cannot,
	// the error is a *NotSavedError and the store keeps the entry for this
	// process: its Load and Update use it, and its next write saves it.
	Save(ctx context.Context, key string, entry *StoredToken) error
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

// OpenStore opens the store at location: memory://NAME for one that this
// Config's token sources share and nothing outside the process sees, else
// a file path ("" for the default file). The Config keeps a memory:// store
// while it is used (see Config); one it forgot keeps working for those
// holding it, and OpenStore opens an empty one in its place.
func (c *Config) OpenStore(location string) (Store, error) {
	c = c.use()
	if name, ok := strings.CutPrefix(location, "memory://"); ok {
		return c.memory.GetOrAdd(name, func() (*memoryStore, error) {
			return &memoryStore{name: location, entries: map[string]*StoredToken{}, used: func() { c.memory.Get(name) }}, nil
		})
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
	s, _ := fileStores.LoadOrStore(abs, &fileStore{path: abs, turn: make(chan struct{}, 1)})
	return s.(*fileStore), nil
}

// fileStores holds one fileStore per file, so that every connection of
// the process, whatever its Config, shares its unsaved entries and its turn.
// Unlike the caches of a Config it forgets none: a fileStore's unsaved
// entries may hold the only copy of a rotated refresh token, and two for
// one file would renew with the same one. It grows with the distinct
// token files a process names (OAuthSettingsLocation), a path and at most
// maxUnsaved entries each, and holds no open file.
var fileStores sync.Map // absolute path -> *fileStore

type memoryStore struct {
	name    string
	used    func() // marks the store used in its Config's cache
	mu      sync.Mutex
	entries map[string]*StoredToken
}

func (m *memoryStore) Location() string { return m.name }

func (m *memoryStore) Load(key string) (*StoredToken, error) {
	m.used()
	m.mu.Lock()
	defer m.mu.Unlock()
	return cloneEntry(m.entries[key]), nil
}

func (m *memoryStore) Update(_ context.Context, key string, f func(*StoredToken) (*StoredToken, error)) error {
	m.used()
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

func (m *memoryStore) Save(ctx context.Context, key string, entry *StoredToken) error {
	return m.Update(ctx, key, func(*StoredToken) (*StoredToken, error) { return entry, nil })
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
//
// Entries this process obtained but could not write (unsaved) are kept
// here, for every connection of the process: they hold the current refresh
// token when the file's was already redeemed.
type fileStore struct {
	path string
	// turn is held by this process's update of the file, so that two of
	// its connections never renew with the same unsaved refresh token.
	turn    chan struct{}
	mu      sync.Mutex // guards unsaved
	unsaved []unsavedEntry
}

// unsavedEntry is an entry this process could not write to the file.
type unsavedEntry struct {
	key   string
	entry *StoredToken
}

// maxUnsaved bounds the unsaved entries of a store, least recently used
// dropped first. A process keeps one per identity (host, client, scopes)
// it renewed while the file could not be written: a handful at most.
const maxUnsaved = 16

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

// Load prefers the entry this process could not save, unless the file's is
// newer; it uses that one also when the file cannot be read.
func (s *fileStore) Load(key string) (*StoredToken, error) {
	unsaved := s.unsavedEntry(key)
	err := checkDir(filepath.Dir(s.path))
	var f *storeFile
	if err == nil {
		f, err = s.read()
	}
	if unsaved != nil && (err != nil || newer(unsaved, f.Entries[key])) {
		return unsaved, nil
	}
	if err != nil {
		return nil, err
	}
	return f.Entries[key], nil
}

// newer reports whether entry a is at least as recent as b.
func newer(a, b *StoredToken) bool { return b == nil || !b.UpdatedAt.After(a.UpdatedAt) }

// unsavedEntry returns a copy of key's unsaved entry, or nil.
func (s *fileStore) unsavedEntry(key string) *StoredToken {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, u := range s.unsaved {
		if u.key == key { // most recently used last
			s.unsaved = append(append(s.unsaved[:i:i], s.unsaved[i+1:]...), u)
			return cloneEntry(u.entry)
		}
	}
	return nil
}

// keepUnsaved keeps entry, which could not be written, for key.
func (s *fileStore) keepUnsaved(key string, entry *StoredToken) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unsaved = slices.DeleteFunc(s.unsaved, func(u unsavedEntry) bool { return u.key == key })
	if entry != nil {
		s.unsaved = append(s.unsaved, unsavedEntry{key: key, entry: cloneEntry(entry)})
	}
	if len(s.unsaved) > maxUnsaved {
		s.unsaved = slices.Delete(s.unsaved, 0, len(s.unsaved)-maxUnsaved)
	}
}

// withUnsaved puts the unsaved entries newer than the file's into f, and
// returns a function that forgets them once f is written.
func (s *fileStore) withUnsaved(f *storeFile) (saved func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	merged := slices.Clone(s.unsaved)
	for _, u := range merged {
		if newer(u.entry, f.Entries[u.key]) {
			f.Entries[u.key] = cloneEntry(u.entry)
		}
	}
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.unsaved = slices.DeleteFunc(s.unsaved, func(u unsavedEntry) bool { return slices.Contains(merged, u) })
	}
}

// Update also makes sure that it can write before it runs f: the new
// version of the file is created, written with room for f's answer and
// synced first, so that f never redeems a token the store could not keep.
// When the file cannot be written but this process holds an unsaved entry
// for key, f runs on that entry (whose refresh token no other process has)
// and its result stays unsaved. ctx bounds the wait for the lock.
func (s *fileStore) Update(ctx context.Context, key string, f func(*StoredToken) (*StoredToken, error)) error {
	select {
	case s.turn <- struct{}{}:
		defer func() { <-s.turn }()
	case <-ctx.Done():
		return fmt.Errorf("token store %s: gave up waiting for its lock (%w, see Timeout): it is held by pid %d (this process, for another of its connections)",
			s.path, ctx.Err(), os.Getpid())
	}
	p, err := s.prepare(ctx)
	if err != nil {
		cur := s.unsavedEntry(key)
		if cur == nil {
			return err
		}
		entry, ferr := f(cur)
		if ferr != nil {
			return ferr
		}
		s.keepUnsaved(key, entry)
		return &NotSavedError{Location: s.path, Err: err}
	}
	defer p.release()
	file := p.file
	entry, err := f(file.Entries[key])
	if err != nil {
		return err
	}
	if entry == nil {
		delete(file.Entries, key)
	} else {
		file.Entries[key] = entry
	}
	if err := p.next.commit(file); err != nil {
		s.keepUnsaved(key, entry)
		return &NotSavedError{Location: s.path, Err: err}
	}
	p.saved()
	return nil
}

// Save is Update with f returning entry, which is kept unsaved also when
// the file cannot even be locked or read.
func (s *fileStore) Save(ctx context.Context, key string, entry *StoredToken) error {
	err := s.Update(ctx, key, func(*StoredToken) (*StoredToken, error) { return entry, nil })
	var notSaved *NotSavedError
	if err != nil && !errors.As(err, &notSaved) {
		s.keepUnsaved(key, entry)
		err = &NotSavedError{Location: s.path, Err: err}
	}
	return err
}

// prepared is what an update needs before it runs f: the file read (with
// this process's unsaved entries), its next version reserved, and the lock.
type prepared struct {
	file   *storeFile
	next   *nextVersion
	saved  func() // forgets the unsaved entries in file, once it is written
	unlock func()
}

func (p *prepared) release() {
	p.next.discard()
	p.unlock()
}

// prepare locks the file, reads it and reserves its next version.
func (s *fileStore) prepare(ctx context.Context) (*prepared, error) {
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("token store %s: %w", s.path, err)
	}
	if err := checkDir(dir); err != nil {
		return nil, err
	}
	lock, err := openOwn(s.path+".lock", os.O_CREATE|os.O_RDWR)
	if err != nil {
		return nil, err
	}
	unlockFile, err := lockFile(ctx, lock)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("token store %s: %w", s.path, err)
	}
	p := &prepared{unlock: func() { unlockFile(); lock.Close() }}
	if p.file, err = s.read(); err == nil {
		p.saved = s.withUnsaved(p.file)
		if p.next, err = s.reserve(p.file); err != nil {
			err = fmt.Errorf("token store %s cannot be written: %w", s.path, err)
		}
	}
	if err != nil {
		p.unlock()
		return nil, err
	}
	return p, nil
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
	tmp, err := createTemp(filepath.Dir(s.path))
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

// checkDir refuses a store directory another user controls (see dirAccess).
func checkDir(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil // Update creates it, 0700
	}
	if err != nil {
		return fmt.Errorf("token store directory %s: %w", dir, err)
	}
	return dirAccess(dir, fi)
}

// openOwn opens path without following a symbolic link, and without
// waiting (a FIFO another user made there would block an open for
// reading), and makes sure it is a file of the user's alone (see checkOwn).
func openOwn(path string, flag int) (*os.File, error) {
	f, err := openFile(path, flag)
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

// checkOwn makes sure f is a file of the user's alone: a regular file,
// owned by the user, that no other user may read or write, and with no
// other name (a hard link would make another file of the user's the lock,
// which lakelink writes into, or the store).
func checkOwn(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("token store file %s: %w", f.Name(), err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file: remove it", f.Name())
	}
	return fileAccess(f, fi)
}

// errReplaced: a file was removed or replaced (another process wrote the
// store's next version in its place) between its opening and its check.
var errReplaced = errors.New("it was replaced while it was being opened")

// replacedRetries bounds readOwn's openings of a store that other
// processes keep replacing.
const replacedRetries = 5

// readOwn reads path, a regular file of the user's (see openOwn): the
// version in place when it opens, opened again when another process put
// its next version in place meanwhile.
func readOwn(path string) ([]byte, error) {
	f, err := openOwn(path, os.O_RDONLY)
	for tries := 1; errors.Is(err, errReplaced) && tries < replacedRetries; tries++ {
		f, err = openOwn(path, os.O_RDONLY)
	}
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
