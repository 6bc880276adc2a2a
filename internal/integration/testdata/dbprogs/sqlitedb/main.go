// Command sqlitedb commits numbered records to a SQLite database
// (modernc.org/sqlite, rollback journal, synchronous=FULL), one
// transaction each, and checks them later:
//
//	sqlitedb write DB N    insert records up to N, after the highest present,
//	                       printing "committed K" once K's commit has returned
//	sqlitedb verify DB K   check that records 1..K are present and intact
//
// Several steps may follow each other on one command line, each opening
// the database afresh. Flags first: -wal for write-ahead logging, whose
// index (DB-shm) SQLite maps shared; -mmap to have SQLite read the
// database through a shared mapping of it (PRAGMA mmap_size), which it
// grows with mremap.
// A test kills the machine during a write, then runs verify with the
// highest K printed: every record reported committed must be there.
package main

import (
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"

	_ "modernc.org/sqlite"
)

func value(k int64) string {
	return fmt.Sprintf("record %d %s", k, strings.Repeat(string(rune('a'+k%26)), 64))
}

// The journal mode, delete (a rollback journal, SQLite's default) or wal,
// and the most of the database SQLite maps (0: it reads with pread).
var (
	journal = "delete"
	mmapMax = 0
)

func main() {
	args := os.Args[1:]
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-wal":
			journal = "wal"
		case "-mmap":
			mmapMax = 1 << 30
		default:
			fmt.Fprintln(os.Stderr, "sqlitedb: unknown flag", args[0])
			os.Exit(2)
		}
		args = args[1:]
	}
	if len(args) == 0 || len(args)%3 != 0 {
		fmt.Fprintln(os.Stderr, "usage: sqlitedb [-wal] [-mmap] write|verify DB N [write|verify DB N]...")
		os.Exit(2)
	}
	for i := 0; i < len(args); i += 3 {
		n, err := strconv.ParseInt(args[i+2], 10, 64)
		if err != nil || n < 0 {
			fmt.Fprintln(os.Stderr, "sqlitedb: N:", args[i+2])
			os.Exit(2)
		}
		if err := run(args[i], args[i+1], n); err != nil {
			fmt.Fprintln(os.Stderr, "sqlitedb:", err)
			os.Exit(1)
		}
	}
}

// run opens the database, does one step and closes it again.
func run(mode, path string, n int64) error {
	db, err := sql.Open("sqlite", fmt.Sprintf("file:%s?_pragma=journal_mode(%s)&_pragma=synchronous(full)&_pragma=mmap_size(%d)", path, journal, mmapMax))
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	db.SetMaxOpenConns(1)
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

func write(db *sql.DB, n int64) error {
	if _, err := db.Exec("CREATE TABLE IF NOT EXISTS records (id INTEGER PRIMARY KEY, value TEXT NOT NULL)"); err != nil {
		return err
	}
	var last sql.NullInt64
	if err := db.QueryRow("SELECT max(id) FROM records").Scan(&last); err != nil {
		return err
	}
	for k := last.Int64 + 1; k <= n; k++ {
		// Outside an explicit transaction each statement commits on its own.
		if _, err := db.Exec("INSERT INTO records (id, value) VALUES (?, ?)", k, value(k)); err != nil {
			return fmt.Errorf("commit %d: %w", k, err)
		}
		fmt.Println("committed", k)
	}
	fmt.Println("write done", n)
	return nil
}

func verify(db *sql.DB, n int64) error {
	var check string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil {
		return err
	}
	if check != "ok" {
		return fmt.Errorf("integrity check: %s", check)
	}
	var total int64
	if n > 0 {
		rows, err := db.Query("SELECT id, value FROM records WHERE id <= ? ORDER BY id", n)
		if err != nil {
			return err
		}
		defer rows.Close()
		want := int64(1)
		for rows.Next() {
			var id int64
			var v string
			if err := rows.Scan(&id, &v); err != nil {
				return err
			}
			if id != want {
				return fmt.Errorf("record %d is missing", want)
			}
			if v != value(id) {
				return fmt.Errorf("record %d is %q, want %q", id, v, value(id))
			}
			want++
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if want != n+1 {
			return fmt.Errorf("record %d is missing", want)
		}
	}
	if err := db.QueryRow("SELECT count(*) FROM records").Scan(&total); err != nil && n > 0 {
		return err
	}
	fmt.Printf("verify ok %d of %d\n", n, total)
	return nil
}
