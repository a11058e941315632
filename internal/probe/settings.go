package probe

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// ErrSettingConflict reports two different declarations of one setting.
var ErrSettingConflict = errors.New("setting declared twice, differently")

// Setting is one user switch a probe reads. Users set it with the
// environment variable Env or with auto.WithSetting(Env, value); the root
// package resolves every declared setting and hands the values to probes in
// Target.Settings.
type Setting struct {
	Env     string // environment variable, also the name WithSetting takes
	Default string // as it would be written in the environment
	Doc     string // one line, for doc.go and `sonde help`
	// Check validates a value; nil means a boolean (strconv.ParseBool).
	Check func(string) error
}

// BoolSetting declares a boolean setting.
func BoolSetting(env string, def bool, doc string) Setting {
	return Setting{Env: env, Default: strconv.FormatBool(def), Doc: doc}
}

// Validate reports whether v is a valid value of s.
func (s Setting) Validate(v string) error {
	if s.Check != nil {
		return s.Check(v)
	}
	if _, err := strconv.ParseBool(strings.TrimSpace(v)); err != nil {
		return errors.New("not a boolean")
	}
	return nil
}

// same reports whether s and o are the same declaration.
func (s Setting) same(o Setting) bool {
	if s.Env != o.Env || s.Default != o.Default || s.Doc != o.Doc || (s.Check == nil) != (o.Check == nil) {
		return false
	}
	return s.Check == nil || reflect.ValueOf(s.Check).Pointer() == reflect.ValueOf(o.Check).Pointer()
}

// Configurable is implemented by probes that read settings.
type Configurable interface {
	// Settings declares the settings the probe reads from Target.Settings.
	Settings() []Setting
}

// DeclaredSettings returns the settings the probes declare, in probe
// order, each once. It fails when a declaration has no name or an invalid
// default, or when two probes declare one name differently.
func DeclaredSettings(ps []Probe) ([]Setting, error) {
	var out []Setting
	seen := map[string]int{}
	var errs []error
	for _, p := range ps {
		c, ok := p.(Configurable)
		if !ok {
			continue
		}
		for _, s := range c.Settings() {
			if s.Env == "" {
				errs = append(errs, fmt.Errorf("probe %s: setting with no name", p.Name()))
				continue
			}
			if err := s.Validate(s.Default); err != nil {
				errs = append(errs, fmt.Errorf("probe %s: default of %s: %w", p.Name(), s.Env, err))
				continue
			}
			if i, ok := seen[s.Env]; ok {
				if !out[i].same(s) {
					errs = append(errs, fmt.Errorf("probe %s: %s: %w", p.Name(), s.Env, ErrSettingConflict))
				}
				continue
			}
			seen[s.Env] = len(out)
			out = append(out, s)
		}
	}
	return out, errors.Join(errs...)
}

// Settings holds the resolved value of every declared setting, by Env.
type Settings map[string]string

// DefaultSettings returns the default of every setting of decls.
func DefaultSettings(decls []Setting) Settings {
	s := make(Settings, len(decls))
	for _, d := range decls {
		s[d.Env] = d.Default
	}
	return s
}

// String returns the value of the setting env ("" when it has none).
func (s Settings) String(env string) string { return s[env] }

// Bool returns the boolean setting env; false when it is unset or not a
// boolean (values are validated before they get here).
func (s Settings) Bool(env string) bool {
	on, _ := strconv.ParseBool(strings.TrimSpace(s[env]))
	return on
}
