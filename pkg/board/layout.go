package board

import (
	"cmp"
	"slices"
	"time"
)

// Grid is the board laid out: a row per repository, a column per
// environment name. It is what every format writes.
type Grid struct {
	// At is when the board was laid out: the time ages are measured to.
	At time.Time `json:"at"`
	// Environments are the column names, left to right.
	Environments []string `json:"environments"`
	// Repositories are the rows, by name.
	Repositories []Row `json:"repositories"`
	// Counts is the number of cells in each state (states with none are
	// left out).
	Counts map[State]int `json:"counts"`
}

// Row is one repository's row: a cell for each of its environments, in
// column order. A column the repository has no environment of has no cell.
type Row struct {
	Repository string `json:"repository"`
	Cells      []Cell `json:"cells"`
	// Error says why the repository could not be read.
	Error string `json:"error,omitempty"`
}

// Cell is one environment of one repository on the board: its facts, the
// state decided from them, and what the layout adds.
type Cell struct {
	Environment
	State State `json:"state"`
	// AgeSeconds is how long ago the recorded deployment started (nil
	// without one).
	AgeSeconds *int64 `json:"ageSeconds,omitempty"`
	// Approve is the command that approves the deployment that waits here.
	Approve string `json:"approve,omitempty"`
}

// Age is the cell's AgeSeconds as a duration, and whether it has one.
func (c Cell) Age() (time.Duration, bool) {
	if c.AgeSeconds == nil {
		return 0, false
	}
	return time.Duration(*c.AgeSeconds) * time.Second, true
}

// Cell returns the row's cell in the column named environment, and whether
// the repository has that environment.
func (r Row) Cell(environment string) (Cell, bool) {
	for _, c := range r.Cells {
		if c.Name == environment {
			return c, true
		}
	}
	return Cell{}, false
}

// Layout lays a board out at time now: rows by repository name; columns
// named after the environments, so that environments of the same name in
// different repositories share one, in promotion order where promoteFrom
// gives one (Columns), then the others by name. Each cell gets its state
// (Classify), its age and, where a deployment waits, the command that
// approves it.
func Layout(b Board, now time.Time) Grid {
	g := Grid{At: now.UTC(), Environments: Columns(b), Counts: map[State]int{}}
	col := make(map[string]int, len(g.Environments))
	for i, name := range g.Environments {
		col[name] = i
	}
	repos := slices.SortedFunc(slices.Values(b.Repositories), func(a, b Repository) int { return cmp.Compare(a.Name, b.Name) })
	g.Repositories = make([]Row, 0, len(repos))
	for _, repo := range repos {
		row := Row{Repository: repo.Name, Error: repo.Error, Cells: make([]Cell, 0, len(repo.Environments))}
		for _, env := range repo.Environments {
			c := Cell{Environment: env, State: Classify(env)}
			if env.DeployedAt != nil && !env.DeployedAt.IsZero() {
				age := int64(max(now.Sub(*env.DeployedAt), 0) / time.Second)
				c.AgeSeconds = &age
			}
			if c.State == AwaitingApproval {
				c.Approve = ApproveCommand(repo.Name, env.Name)
			}
			g.Counts[c.State]++
			row.Cells = append(row.Cells, c)
		}
		slices.SortStableFunc(row.Cells, func(a, b Cell) int { return cmp.Compare(col[a.Name], col[b.Name]) })
		g.Repositories = append(g.Repositories, row)
	}
	return g
}

// Columns returns the environment names of every repository, each once, in
// board order: first the names that promoteFrom links, in an order where
// every environment comes after the one it promotes from, in any
// repository (a topological order of all the links, the smallest name first
// wherever the links allow a choice); then the others by name. Links that
// contradict each other across repositories (staging after production in
// one, before it in another) cannot all hold: the smallest name among those
// left waiting goes first, and the rest follow as the links allow.
func Columns(b Board) []string {
	names := map[string]bool{}
	after := map[string][]string{} // from → the environments promoted from it
	waits := map[string]int{}      // environment → links it still waits on
	linked := map[string]bool{}
	seen := map[[2]string]bool{}
	for _, repo := range b.Repositories {
		own := map[string]bool{}
		for _, env := range repo.Environments {
			names[env.Name] = true
			own[env.Name] = true
		}
		for _, env := range repo.Environments {
			from := env.PromoteFrom
			link := [2]string{from, env.Name}
			if from == "" || from == env.Name || !own[from] || seen[link] {
				continue
			}
			seen[link] = true
			after[from] = append(after[from], env.Name)
			waits[env.Name]++
			linked[from], linked[env.Name] = true, true
		}
	}

	order := make([]string, 0, len(names))
	placed := map[string]bool{}
	for len(order) < len(linked) {
		next := ""
		for name := range linked {
			if !placed[name] && waits[name] == 0 && (next == "" || name < next) {
				next = name
			}
		}
		if next == "" { // a cycle: break it at its smallest name
			for name := range linked {
				if !placed[name] && (next == "" || name < next) {
					next = name
				}
			}
		}
		placed[next] = true
		order = append(order, next)
		for _, to := range after[next] {
			waits[to]--
		}
	}
	var rest []string
	for name := range names {
		if !linked[name] {
			rest = append(rest, name)
		}
	}
	slices.Sort(rest)
	return append(order, rest...)
}
