package container

import (
	"slices"
	"strings"
	"testing"
)

func TestParseDockerfile(t *testing.T) {
	const src = `# syntax=docker/dockerfile:1
FROM golang:1 AS build
WORKDIR /src
# a comment between continued lines does not end the instruction
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" \
  -o /out/app . \
 && mkdir -p /out/data

FROM scratch
COPY --from=build /out/app /app
ENV A=1 B="two words"
HEALTHCHECK --interval=10s --timeout=3s \
  CMD ["/app", "healthcheck"]
`
	df, err := ParseDockerfile(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(df.Stages) != 2 || df.Stages[0].Name != "build" || df.Final().From != "scratch" {
		t.Fatalf("stages %+v", df.Stages)
	}
	build, _ := df.Stage("build")
	gb, others, err := FindGoBuild(build)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(gb.Env, []string{"CGO_ENABLED=0"}) || gb.Output != "/out/app" ||
		!slices.Equal(gb.Args, []string{"-trimpath", "-ldflags=-s -w", "-o", "/out/app", "."}) {
		t.Errorf("go build %+v", gb)
	}
	if !slices.Equal(others, []string{"mkdir -p /out/data"}) {
		t.Errorf("other commands %q", others)
	}
	c, err := ParseCopy(df.Final().All("COPY")[0].Args)
	if err != nil || c.From != "build" || !slices.Equal(c.Srcs, []string{"/out/app"}) || c.Dest != "/app" {
		t.Errorf("COPY %+v %v", c, err)
	}
	env, err := ParseEnv(df.Final().All("ENV")[0].Args)
	if err != nil || env["A"] != "1" || env["B"] != "two words" || len(env) != 2 {
		t.Errorf("ENV %v %v", env, err)
	}
	in, err := df.Final().One("HEALTHCHECK")
	if err != nil {
		t.Fatal(err)
	}
	h, err := ParseHealthcheck(in.Args)
	if err != nil || h.Options["timeout"] != "3s" || !slices.Equal(h.Cmd, []string{"/app", "healthcheck"}) {
		t.Errorf("HEALTHCHECK %+v %v", h, err)
	}
	if in.Line != 12 {
		t.Errorf("HEALTHCHECK at line %d, want 12", in.Line)
	}
	if _, err := ParseHealthcheck("CMD /app healthcheck"); err == nil {
		t.Error("the shell form of HEALTHCHECK CMD was accepted (a scratch image has no shell)")
	}
}

func TestShellWords(t *testing.T) {
	for in, want := range map[string][]string{
		`a b  c`:              {"a", "b", "c"},
		`-ldflags="-s -w" .`:  {"-ldflags=-s -w", "."},
		`'x y' "a\"b" c\ d`:   {"x y", `a"b`, "c d"},
		`""`:                  {""},
		`K=V go build -o x .`: {"K=V", "go", "build", "-o", "x", "."},
	} {
		got, err := ShellWords(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("ShellWords(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ShellWords(`"open`); err == nil {
		t.Error("an unterminated quote was accepted")
	}
}
