package integration

import (
	"fmt"
	"strings"
	"testing"
)

// Embedded databases in the guest: bbolt (mmap of its file, pwrite,
// fdatasync, flock) and SQLite through modernc.org/sqlite (rollback journal,
// fcntl locks). Their programs live in a module of their own
// (testdata/dbprogs), so that the databases' dependencies stay out of the
// kernel's module and of the other test programs.

func dbprog(t *testing.T, name string) string {
	return repo(t, "internal/integration/testdata/dbprogs/"+name)
}

// commitAndVerify has prog commit records to a database under /tmp, one
// transaction each, then open it again and check every record.
func commitAndVerify(t *testing.T, prog string, records int, flags ...string) {
	needQEMU(t)
	t.Parallel()
	db := "/tmp/" + prog + ".db"
	n := fmt.Sprint(records)
	args := append([]string{"run", dbprog(t, prog), "--"}, flags...)
	r := mote(timeout(t), t, "", append(args, "write", db, n, "verify", db, n)...)
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout (end):\n%s\nstderr:\n%s", r.code, tail(r.stdout, 20), r.stderr)
	}
	if got := strings.Count(r.stdout, "committed "); got != records {
		t.Errorf("%d commits reported, want %d", got, records)
	}
	want := fmt.Sprintf("write done %d\nverify ok %d of %d\n", records, records, records)
	if !strings.HasSuffix(r.stdout, want) {
		t.Errorf("stdout ends %q, want %q", tail(r.stdout, 3), want)
	}
	if strings.Contains(r.stderr, "unimplemented syscall") {
		t.Errorf("the database used a system call the kernel lacks:\n%s", r.stderr)
	}
}

func TestBboltDatabase(t *testing.T)  { commitAndVerify(t, "bboltdb", 10000) }
func TestSQLiteDatabase(t *testing.T) { commitAndVerify(t, "sqlitedb", 10000) }

// TestSQLiteWAL runs SQLite in write-ahead-log mode, whose index SQLite
// keeps in a shared mapping of DB-shm.
func TestSQLiteWAL(t *testing.T) { commitAndVerify(t, "sqlitedb", 10000, "-wal") }

// TestSQLiteMmap has SQLite read its database through a shared mapping
// (PRAGMA mmap_size), which it grows with mremap as the file grows, while
// it writes with pwrite: the two must agree at every commit.
func TestSQLiteMmap(t *testing.T) { commitAndVerify(t, "sqlitedb", 10000, "-mmap") }
