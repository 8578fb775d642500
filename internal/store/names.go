package store

// MaxProviderName is the longest provider name.
const MaxProviderName = 63

// ProviderNamePattern is the rule ValidProviderName checks, for messages.
const ProviderNamePattern = `^[a-z0-9]+(-[a-z0-9]+)*$`

// ValidProviderName reports whether s can name a provider: lowercase
// letters and digits in words joined by single dashes, at most
// MaxProviderName bytes. Names appear in gateway paths, so the gateway
// checks a path's name with this before any lookup; it runs without
// allocating.
func ValidProviderName(s string) bool {
	if s == "" || len(s) > MaxProviderName {
		return false
	}
	dash := true // a name may not start with a dash
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			dash = false
		case c == '-' && !dash:
			dash = true
		default:
			return false
		}
	}
	return !dash
}
