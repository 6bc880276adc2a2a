package config

import "strings"

// synonyms are the names other tools give the manifest's fields (Docker Compose, Kubernetes,
// Dockerfiles), which a user may well write.
var synonyms = map[string]string{
	"environment": "env", "command": "args", "cmd": "args", "arguments": "args",
	"working_dir": "workdir", "workingdir": "workdir", "workingDir": "workdir", "cwd": "workdir", "dir": "workdir",
	"mem": "memory", "mem_limit": "memory", "publish": "ports", "expose": "ports",
	"files": "copy", "copies": "copy", "add": "copy", "mounts": "volumes",
}

// suggest returns the field a misspelt or foreign key most likely means, or "".
func suggest(key string) string {
	if s, ok := synonyms[key]; ok {
		return s
	}
	lower := strings.ToLower(key)
	if s, ok := synonyms[lower]; ok {
		return s
	}
	best, bestDist := "", 3 // at most two edits away
	for _, f := range fields {
		if d := distance(lower, f.name); d < bestDist {
			best, bestDist = f.name, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b, in bytes.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
