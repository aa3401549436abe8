package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/tenderpay/tender/internal/secret"
	"github.com/tenderpay/tender/internal/store"
)

var (
	setMasterKey = setting{flag: "master-key", env: "TENDER_MASTER_KEY", def: "",
		help:  "the master key (32 bytes, base64; make one with 'openssl rand -base64 32') that seals secrets at rest and signs links; empty: read TENDER_MASTER_KEY_FILE",
		check: checkMasterKey, redact: redactAll}
	setMasterKeyPrev = setting{flag: "master-key-previous", env: "TENDER_MASTER_KEY_PREVIOUS", def: "",
		help:  "earlier master keys, comma-separated, still accepted for opening and verifying during a rotation",
		check: checkMasterKeyList, redact: redactAll}
	setMasterKeyFile = setting{flag: "master-key-file", env: "TENDER_MASTER_KEY_FILE", def: "",
		help:  "file holding the master key when TENDER_MASTER_KEY is unset; empty means DATABASE.key beside a SQLite database, created on first start (PostgreSQL needs one of the two)",
		check: checkSnapshot}
)

func redactAll(v string) string {
	if v == "" {
		return ""
	}
	return "(hidden)"
}

func checkMasterKey(v string) error {
	if v == "" {
		return nil
	}
	if _, err := secret.DecodeKey(v); err != nil {
		return errors.New("want 32 random bytes in base64, e.g. from 'openssl rand -base64 32'")
	}
	return nil
}

func checkMasterKeyList(v string) error {
	for k := range strings.SplitSeq(v, ",") {
		if err := checkMasterKey(strings.TrimSpace(k)); err != nil {
			return err
		}
	}
	return nil
}

// masterKeys returns the keyring from the configuration, and a note for the
// operator when a key file was just created. The key comes from
// TENDER_MASTER_KEY, else from TENDER_MASTER_KEY_FILE, else, for SQLite,
// from a file beside the database, made on first start so that the two
// commands of the README suffice; PostgreSQL, which several Tenders may
// share, must be given the key.
func masterKeys(cfg config, dialect store.Dialect, dbPath string) (*secret.Keyring, string, error) {
	var previous []string
	if p := cfg.str(setMasterKeyPrev); p != "" {
		for k := range strings.SplitSeq(p, ",") {
			previous = append(previous, strings.TrimSpace(k))
		}
	}
	if k := cfg.str(setMasterKey); k != "" {
		ring, err := secret.ParseKeyring(k, previous)
		return ring, "", err
	}
	path := cfg.str(setMasterKeyFile)
	if path == "" {
		if dialect != store.SQLite {
			return nil, "", usagef("%s or %s is required with PostgreSQL: every Tender sharing the database needs the same master key", setMasterKey.env, setMasterKeyFile.env)
		}
		if dbPath == ":memory:" {
			// Nothing outlives the process, so neither need the key.
			ring, err := secret.ParseKeyring(secret.NewKey(), previous)
			return ring, "", err
		}
		path = dbPath + ".key"
	}
	key, created, err := readOrCreateKey(path)
	if err != nil {
		return nil, "", err
	}
	ring, err := secret.ParseKeyring(key, previous)
	if err != nil {
		return nil, "", fmt.Errorf("master key file %s: %w", path, err)
	}
	note := ""
	if created {
		note = fmt.Sprintf("A master key was created in %s (mode 0600). It seals the secrets in the database:\nback it up apart from the database, and set %s in production.", path, setMasterKey.env)
	}
	return ring, note, nil
}

// readOrCreateKey reads a base64 key from path, or writes a new one there
// (readable by the owner only) if the file does not exist.
func readOrCreateKey(path string) (key string, created bool, err error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", false, fmt.Errorf("master key file: %w", err)
	}
	key = secret.NewKey()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", false, fmt.Errorf("master key file: %w", err)
	}
	// O_EXCL: two Tenders starting at once must not each write a key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return readOrCreateKey(path)
	}
	if err != nil {
		return "", false, fmt.Errorf("master key file: %w", err)
	}
	_, err = f.WriteString(key + "\n")
	if err = errors.Join(err, f.Sync(), f.Close()); err != nil {
		return "", false, fmt.Errorf("master key file %s: %w", path, err)
	}
	return key, true, nil
}
