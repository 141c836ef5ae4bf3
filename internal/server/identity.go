package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cairndb/cairn/internal/membership"
)

// identity is what a data directory remembers about the node that owns it,
// so a restart needs no bootstrap flags and a wrong --name is caught.
type identity struct {
	ID   uint64 `json:"id"`
	Name string `json:"name"`
}

const identityFile = "member.json"

// loadIdentity reads the data dir's identity, creating it on first start.
func loadIdentity(dir, name string) (identity, error) {
	path := filepath.Join(dir, identityFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		id := identity{ID: membership.IDFromName(name), Name: name}
		b, _ = json.Marshal(id)
		if err := writeFileSync(path, b); err != nil {
			return identity{}, err
		}
		return id, nil
	}
	if err != nil {
		return identity{}, fmt.Errorf("server: read identity: %w", err)
	}
	var id identity
	if err := json.Unmarshal(b, &id); err != nil {
		return identity{}, fmt.Errorf("server: corrupt %s: %w", path, err)
	}
	if name != "" && name != id.Name {
		return identity{}, fmt.Errorf("server: data dir %s belongs to member %q, not %q", dir, id.Name, name)
	}
	return id, nil
}

func writeFileSync(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("server: write %s: %w", path, err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return fmt.Errorf("server: write %s: %w", path, err)
	}
	return nil
}
