package respserver

// globMatch reports whether key matches the Redis glob pattern, exactly as
// Redis's stringmatchlen (util.c) does, case-sensitively: '*' any run of
// bytes, '?' one byte, '[abc]' '[^abc]' '[a-z]' a class ('\' escapes inside
// it; a reversed range is swapped; an unterminated class matches as if
// closed), '\x' the byte x. It is used by KEYS and SCAN MATCH.
func globMatch(pattern, key []byte) bool {
	skipLonger := false
	return globMatchAt(pattern, key, &skipLonger, 0)
}

func globMatchAt(pat, str []byte, skipLonger *bool, nesting int) bool {
	// Protection against abusive patterns, as in Redis.
	if nesting > 1000 {
		return false
	}
	for len(pat) > 0 && len(str) > 0 {
		switch pat[0] {
		case '*':
			for len(pat) > 1 && pat[1] == '*' {
				pat = pat[1:]
			}
			if len(pat) == 1 {
				return true
			}
			for len(str) > 0 {
				if globMatchAt(pat[1:], str, skipLonger, nesting+1) {
					return true
				}
				if *skipLonger {
					return false
				}
				str = str[1:]
			}
			// The rest of the pattern matches nowhere in the rest of the
			// string: an earlier '*' taking more cannot help either.
			*skipLonger = true
			return false
		case '?':
			str = str[1:]
		case '[':
			pat = pat[1:]
			not := len(pat) > 0 && pat[0] == '^'
			if not {
				pat = pat[1:]
			}
			match := false
			for {
				if len(pat) == 0 {
					// Unterminated class: step back so the pat = pat[1:]
					// below leaves the pattern empty, as Redis does.
					pat = []byte{']'}
					break
				}
				if pat[0] == '\\' && len(pat) >= 2 {
					pat = pat[1:]
					if pat[0] == str[0] {
						match = true
					}
				} else if pat[0] == ']' {
					break
				} else if len(pat) >= 3 && pat[1] == '-' {
					lo, hi := pat[0], pat[2]
					if lo > hi {
						lo, hi = hi, lo
					}
					pat = pat[2:]
					if c := str[0]; c >= lo && c <= hi {
						match = true
					}
				} else if pat[0] == str[0] {
					match = true
				}
				pat = pat[1:]
			}
			if not {
				match = !match
			}
			if !match {
				return false
			}
			str = str[1:]
		case '\\':
			if len(pat) >= 2 {
				pat = pat[1:]
			}
			fallthrough
		default:
			if pat[0] != str[0] {
				return false
			}
			str = str[1:]
		}
		pat = pat[1:]
		if len(str) == 0 {
			for len(pat) > 0 && pat[0] == '*' {
				pat = pat[1:]
			}
			break
		}
	}
	return len(pat) == 0 && len(str) == 0
}

// globPrefix returns the literal prefix of a glob pattern (the bytes before
// its first special character, with escapes resolved) and whether the
// pattern is entirely literal. KEYS and SCAN read only the keys under the
// prefix.
func globPrefix(pattern []byte) (prefix []byte, literal bool) {
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; c {
		case '*', '?', '[':
			return prefix, false
		case '\\':
			if i+1 < len(pattern) {
				i++
				prefix = append(prefix, pattern[i])
				continue
			}
			// A trailing backslash matches itself.
			prefix = append(prefix, c)
		default:
			prefix = append(prefix, c)
		}
	}
	return prefix, true
}
