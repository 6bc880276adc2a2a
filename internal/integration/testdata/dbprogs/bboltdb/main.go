// Command bboltdb commits numbered records to a bbolt database, one
// transaction each, and checks them later:
//
//	bboltdb write DB N    commit records up to N, after the highest present,
//	                      printing "committed K" once K's commit has returned
//	bboltdb verify DB K   check that records 1..K are present and intact
//
// Several steps may follow each other on one command line, each opening
// the database afresh.
// A test kills the machine during a write, then runs verify with the
// highest K printed: every record reported committed must be there.
package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

var bucket = []byte("records")

func key(k uint64) []byte { return binary.BigEndian.AppendUint64(nil, k) }

// value is the record's expected contents: long enough to fill pages.
func value(k uint64) []byte {
	return []byte(fmt.Sprintf("record %d %s", k, bytes.Repeat([]byte{byte('a' + k%26)}, 64)))
}

func main() {
	args := os.Args[1:]
	if len(args) == 0 || len(args)%3 != 0 {
		fmt.Fprintln(os.Stderr, "usage: bboltdb write|verify DB N [write|verify DB N]...")
		os.Exit(2)
	}
	for i := 0; i < len(args); i += 3 {
		n, err := strconv.ParseUint(args[i+2], 10, 64)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bboltdb: N:", err)
			os.Exit(2)
		}
		if err := run(args[i], args[i+1], n); err != nil {
			fmt.Fprintln(os.Stderr, "bboltdb:", err)
			os.Exit(1)
		}
	}
}

// run opens the database, does one step and closes it again.
func run(mode, path string, n uint64) error {
	db, err := bolt.Open(path, 0o644, nil)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	switch mode {
	case "write":
		err = write(db, n)
	case "verify":
		err = verify(db, n)
	default:
		err = fmt.Errorf("unknown mode %q", mode)
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	return err
}

func write(db *bolt.DB, n uint64) error {
	var next uint64 = 1
	err := db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucket)
		if err != nil {
			return err
		}
		if k, _ := b.Cursor().Last(); k != nil {
			next = binary.BigEndian.Uint64(k) + 1
		}
		return nil
	})
	if err != nil {
		return err
	}
	for k := next; k <= n; k++ {
		err := db.Update(func(tx *bolt.Tx) error {
			return tx.Bucket(bucket).Put(key(k), value(k))
		})
		if err != nil {
			return fmt.Errorf("commit %d: %w", k, err)
		}
		fmt.Println("committed", k)
	}
	fmt.Println("write done", n)
	return nil
}

func verify(db *bolt.DB, n uint64) error {
	return db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if b == nil {
			if n == 0 {
				fmt.Println("verify ok 0 of 0")
				return nil
			}
			return fmt.Errorf("no bucket %q", bucket)
		}
		for k := uint64(1); k <= n; k++ {
			v := b.Get(key(k))
			if v == nil {
				return fmt.Errorf("record %d is missing", k)
			}
			if !bytes.Equal(v, value(k)) {
				return fmt.Errorf("record %d is %q, want %q", k, v, value(k))
			}
		}
		fmt.Printf("verify ok %d of %d\n", n, b.Stats().KeyN)
		return nil
	})
}
