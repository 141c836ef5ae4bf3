package query

import (
	"fmt"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// restoreSession defines a shell session's functions and globals before a
// script runs.
func restoreSession(thread *starlark.Thread, globals starlark.StringDict, s *Session) error {
	if s == nil {
		return nil
	}
	for name, js := range s.Globals {
		if _, reserved := globals[name]; reserved {
			continue
		}
		v, err := fromJSON([]byte(js))
		if err != nil {
			return &Error{Kind: ErrScript, Msg: fmt.Sprintf("session variable %s: %v", name, err)}
		}
		globals[name] = v
	}
	if len(s.Defs) == 0 {
		return nil
	}
	f, err := parse(strings.Join(s.Defs, "\n"))
	if err != nil {
		return err
	}
	if err := starlark.ExecREPLChunk(f, thread, globals); err != nil {
		return &Error{Kind: ErrScript, Msg: "session functions: " + err.Error()}
	}
	return nil
}

// saveSession returns the session after a script: the globals that have
// a JSON form (db and the builtins excluded; functions, which have none,
// are carried as the source of their def statements).
func saveSession(globals starlark.StringDict, prev *Session, src string, limit int) (*Session, error) {
	s := &Session{Globals: map[string]string{}}
	size := 0
	for name, v := range globals {
		switch v.(type) {
		case *DB, *starlark.Builtin, *starlark.Function:
			continue
		}
		b, err := toJSON(v, limit)
		if err != nil {
			continue // no JSON form: not carried to the next script
		}
		size += len(name) + len(b)
		if size > limit {
			return nil, &Error{Kind: ErrResultTooLarge, Msg: fmt.Sprintf("session variables exceed %d bytes", limit)}
		}
		s.Globals[name] = string(b)
	}
	defs, err := defSources(src)
	if err != nil {
		return nil, err
	}
	// Keep one def per function name, the newest, in definition order.
	byName := map[string]int{}
	add := func(name, def string) {
		if i, ok := byName[name]; ok {
			s.Defs[i] = ""
		}
		byName[name] = len(s.Defs)
		s.Defs = append(s.Defs, def)
	}
	for _, d := range prev.Defs {
		ds, err := defSources(d)
		if err != nil || len(ds) != 1 {
			continue
		}
		add(ds[0][0], ds[0][1])
	}
	for _, d := range defs {
		add(d[0], d[1])
	}
	kept := s.Defs[:0]
	for _, d := range s.Defs {
		if d != "" {
			kept = append(kept, d)
		}
	}
	s.Defs = kept
	return s, nil
}

// defSources returns the (name, source) of each top-level def statement
// of src. A top-level def starts at column 1 and spans whole lines.
func defSources(src string) ([][2]string, error) {
	f, err := fileOptions.Parse("script", src, 0)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(src, "\n")
	var out [][2]string
	for _, st := range f.Stmts {
		def, ok := st.(*syntax.DefStmt)
		if !ok {
			continue
		}
		start, end := def.Span()
		if start.Col != 1 || int(end.Line) > len(lines) {
			continue
		}
		out = append(out, [2]string{def.Name.Name, strings.Join(lines[start.Line-1:end.Line], "\n")})
	}
	return out, nil
}
