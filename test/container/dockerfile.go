// Package container checks what the container image and docker-compose.yml
// rely on, without a container engine: the Dockerfile's runtime stage (a
// static binary alone in a scratch image, run as a numeric non-root user
// with two environment variables, a writable /data and its own
// healthcheck) is rebuilt from the Dockerfile's own lines and run that way
// in a chroot; where docker or podman works, the image itself is built and
// run too.
package container

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Dockerfile is a parsed Dockerfile: its stages in order.
type Dockerfile struct {
	Stages []Stage
}

// Stage is one FROM ... and the instructions up to the next FROM.
type Stage struct {
	From   string // the image, e.g. scratch
	Name   string // the AS name, "" if none
	Instrs []Instr
}

// Instr is one instruction, with its continuation lines joined.
type Instr struct {
	Cmd  string // upper case: RUN, COPY, ENV, ...
	Args string // the rest of the line
	Line int    // where it starts, for messages
}

// ParseDockerfile reads the instructions of a Dockerfile: comments and
// blank lines dropped, lines ending in a backslash joined to the next.
// It understands as much of the format as this project's Dockerfile uses.
func ParseDockerfile(r io.Reader) (*Dockerfile, error) {
	var df Dockerfile
	sc := bufio.NewScanner(r)
	var cur strings.Builder
	start, n := 0, 0
	flush := func() error {
		text := strings.TrimSpace(cur.String())
		cur.Reset()
		if text == "" {
			return nil
		}
		cmd, args, _ := strings.Cut(text, " ")
		in := Instr{Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args), Line: start}
		if in.Cmd == "FROM" {
			f := strings.Fields(in.Args)
			st := Stage{From: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.Name = f[2]
			} else if len(f) != 1 {
				return fmt.Errorf("line %d: FROM %q: want IMAGE [AS NAME]", in.Line, in.Args)
			}
			df.Stages = append(df.Stages, st)
			return nil
		}
		if len(df.Stages) == 0 {
			return fmt.Errorf("line %d: %s before the first FROM", in.Line, in.Cmd)
		}
		s := &df.Stages[len(df.Stages)-1]
		s.Instrs = append(s.Instrs, in)
		return nil
	}
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			continue // a comment (or a parser directive) never continues a line
		}
		if cur.Len() == 0 {
			if trimmed == "" {
				continue
			}
			start = n
		}
		if body, ok := strings.CutSuffix(strings.TrimRight(line, " \t"), `\`); ok {
			cur.WriteString(body)
			cur.WriteString(" ")
			continue
		}
		cur.WriteString(line)
		if err := flush(); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if len(df.Stages) == 0 {
		return nil, fmt.Errorf("no FROM")
	}
	return &df, nil
}

// Stage returns the stage named name.
func (df *Dockerfile) Stage(name string) (*Stage, bool) {
	for i := range df.Stages {
		if df.Stages[i].Name == name {
			return &df.Stages[i], true
		}
	}
	return nil, false
}

// Final is the last stage: what the image is.
func (df *Dockerfile) Final() *Stage { return &df.Stages[len(df.Stages)-1] }

// All returns the stage's instructions of one kind.
func (s *Stage) All(cmd string) []Instr {
	var out []Instr
	for _, in := range s.Instrs {
		if in.Cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// One returns the stage's only instruction of one kind.
func (s *Stage) One(cmd string) (Instr, error) {
	all := s.All(cmd)
	if len(all) != 1 {
		return Instr{}, fmt.Errorf("stage FROM %s: %d %s instructions, want 1", s.From, len(all), cmd)
	}
	return all[0], nil
}

// Copy is a COPY instruction's parts.
type Copy struct {
	From  string // --from=
	Chown string // --chown=
	Srcs  []string
	Dest  string
}

// ParseCopy splits COPY's arguments (shell form only).
func ParseCopy(args string) (Copy, error) {
	var c Copy
	f := strings.Fields(args)
	for len(f) > 0 && strings.HasPrefix(f[0], "--") {
		k, v, _ := strings.Cut(strings.TrimPrefix(f[0], "--"), "=")
		switch k {
		case "from":
			c.From = v
		case "chown":
			c.Chown = v
		default:
			return c, fmt.Errorf("COPY %s: option --%s not understood here", args, k)
		}
		f = f[1:]
	}
	if len(f) < 2 {
		return c, fmt.Errorf("COPY %s: want SRC... DEST", args)
	}
	c.Srcs, c.Dest = f[:len(f)-1], f[len(f)-1]
	return c, nil
}

// ExecForm parses a JSON array argument (CMD ["a","b"], ENTRYPOINT, VOLUME).
func ExecForm(args string) ([]string, error) {
	var out []string
	if err := json.Unmarshal([]byte(args), &out); err != nil {
		return nil, fmt.Errorf("%s: want the exec (JSON array) form: %w", args, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: empty", args)
	}
	return out, nil
}

// ParseEnv reads ENV's KEY=VALUE pairs (the legacy "ENV KEY VALUE" form
// too). Values may be double-quoted.
func ParseEnv(args string) (map[string]string, error) {
	words, err := ShellWords(args)
	if err != nil {
		return nil, err
	}
	env := map[string]string{}
	if len(words) > 0 && !strings.Contains(words[0], "=") {
		if len(words) < 2 {
			return nil, fmt.Errorf("ENV %s: no value", args)
		}
		env[words[0]] = strings.Join(words[1:], " ")
		return env, nil
	}
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("ENV %s: %q is not KEY=VALUE", args, w)
		}
		env[k] = v
	}
	return env, nil
}

// Healthcheck is a HEALTHCHECK instruction's options and command.
type Healthcheck struct {
	Options map[string]string // interval, timeout, start-period, retries
	Cmd     []string          // exec form
}

// ParseHealthcheck reads HEALTHCHECK [--opt=v...] CMD [...]; only the exec
// form is accepted, since a scratch image has no shell for the other.
func ParseHealthcheck(args string) (Healthcheck, error) {
	h := Healthcheck{Options: map[string]string{}}
	rest := strings.TrimSpace(args)
	for strings.HasPrefix(rest, "--") {
		opt, tail, _ := strings.Cut(rest, " ")
		k, v, _ := strings.Cut(strings.TrimPrefix(opt, "--"), "=")
		h.Options[k] = v
		rest = strings.TrimSpace(tail)
	}
	kw, cmd, _ := strings.Cut(rest, " ")
	if !strings.EqualFold(kw, "CMD") {
		return h, fmt.Errorf("HEALTHCHECK %s: want CMD [...]", args)
	}
	var err error
	h.Cmd, err = ExecForm(strings.TrimSpace(cmd))
	return h, err
}

// ShellWords splits a command line the way sh would for the simple cases
// a Dockerfile RUN uses: blanks separate words, single and double quotes
// group (no variables, no escapes inside single quotes).
func ShellWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else if c == '\\' && quote == '"' && i+1 < len(s) && strings.IndexByte(`"\$`, s[i+1]) >= 0 {
				i++
				w.WriteByte(s[i])
			} else {
				w.WriteByte(c)
			}
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case c == '\\' && i+1 < len(s):
			i++
			w.WriteByte(s[i])
			inWord = true
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote in %q", quote, s)
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}

// GoBuild is the `go build` of a RUN line: the environment assignments
// before it and its arguments.
type GoBuild struct {
	Env    []string // KEY=VALUE
	Args   []string // after "go build", -o and its value included
	Output string   // the -o value
}

// FindGoBuild finds the one `go build` among the stage's RUN commands (each
// RUN split on &&) and returns it; the commands beside it are returned too.
func FindGoBuild(s *Stage) (GoBuild, []string, error) {
	var gb GoBuild
	var others []string
	found := 0
	for _, in := range s.All("RUN") {
		for _, part := range strings.Split(in.Args, "&&") {
			words, err := ShellWords(part)
			if err != nil {
				return gb, nil, fmt.Errorf("line %d: %w", in.Line, err)
			}
			i := 0
			var env []string
			for i < len(words) && strings.Contains(words[i], "=") && !strings.HasPrefix(words[i], "-") {
				env = append(env, words[i])
				i++
			}
			if i+1 < len(words) && words[i] == "go" && words[i+1] == "build" {
				found++
				gb = GoBuild{Env: env, Args: words[i+2:]}
				continue
			}
			others = append(others, strings.TrimSpace(part))
		}
	}
	if found != 1 {
		return gb, nil, fmt.Errorf("stage %s: %d go build commands, want 1", s.Name, found)
	}
	for i, a := range gb.Args {
		if a == "-o" && i+1 < len(gb.Args) {
			gb.Output = gb.Args[i+1]
		} else if v, ok := strings.CutPrefix(a, "-o="); ok {
			gb.Output = v
		}
	}
	if gb.Output == "" {
		return gb, nil, fmt.Errorf("stage %s: go build without -o", s.Name)
	}
	return gb, others, nil
}
