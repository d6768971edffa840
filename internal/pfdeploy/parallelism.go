package pfdeploy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/weftio/weft/internal/config"
)

// parseParallelism reads -parallelism: "" (one instance per role), "N"
// (N for every role), or a comma-separated list of role=N items, which may
// start with a bare N for the roles it does not name. Every role named
// must be one deployed: a count for a role left out is a mistake to report,
// not to ignore.
func parseParallelism(s string, roles []config.Role) (map[config.Role]int, error) {
	def, byRole, sawDefault := 1, map[config.Role]int{}, false
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			if s != "" {
				return nil, fmt.Errorf("-parallelism %q: empty item", s)
			}
			continue
		}
		name, count, named := strings.Cut(item, "=")
		if !named {
			name, count = "", item
		}
		n, err := strconv.Atoi(strings.TrimSpace(count))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-parallelism %q: %q is not a count of instances (a whole number from 1)", s, strings.TrimSpace(count))
		}
		if !named {
			if sawDefault {
				return nil, fmt.Errorf("-parallelism %q: two counts for every role (give one bare N, then role=N items)", s)
			}
			def, sawDefault = n, true
			continue
		}
		r := config.Role(strings.TrimSpace(name))
		switch {
		case !slices.Contains(config.AllRoles, r):
			return nil, fmt.Errorf("-parallelism %q: %q is not a role (executor, state-engine, tag-engine, event-listener)", s, r)
		case !slices.Contains(roles, r):
			return nil, fmt.Errorf("-parallelism %q: names %s, which this deploy leaves out (it deploys %s; WEFT_ROLES chooses)", s, r, joinRoles(roles))
		case byRole[r] != 0:
			return nil, fmt.Errorf("-parallelism %q: %s is given twice", s, r)
		}
		byRole[r] = n
	}
	out := make(map[config.Role]int, len(roles))
	for _, r := range roles {
		out[r] = def
		if n := byRole[r]; n != 0 {
			out[r] = n
		}
	}
	return out, nil
}
