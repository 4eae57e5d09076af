package resource

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/onecse/onecse/primitive"
)

// Presence of an attribute in a CREATE or UPDATE request (TS-0004 tables 7.4.x.1-3).
type Presence uint8

const (
	NP Presence = iota // not permitted
	O                  // optional
	M                  // mandatory
)

// Kind is the value type of an attribute.
type Kind uint8

const (
	KString Kind = iota
	KBool
	KInt      // integer within [Min, Max]
	KTime     // m2m:timestamp
	KAbsRel   // m2m:absRelTimestamp: timestamp or integer milliseconds
	KStrList  // list of strings
	KIntList  // list of integers within [Min, Max]
	KAny      // any value (content)
	KObject   // an object, checked by Check
	KAnyList  // list of anything, checked by Check when set
	KDuration // xs:duration (ISO 8601)
)

// Attr describes one attribute of a type.
type Attr struct {
	SN             string
	Kind           Kind
	Create, Update Presence
	Min, Max       int64
	Enum           []int64
	// NonEmpty rejects an empty string or list.
	NonEmpty bool
	// Single marks multiplicity 1: an UPDATE may not delete it with null.
	Single bool
	// Check runs after the kind check; its error text is used as the debug message.
	Check func(v any) error
}

// Type is a registered resource type.
type Type struct {
	Ty  int
	SN  string // short name, e.g. "cnt"
	Key string // "m2m:cnt"
	// Attrs by short name.
	Attrs map[string]*Attr
	// Children lists the types that may be created under this type.
	Children []int
	// HasACPI tells whether the type has an acpi attribute; access to a type without
	// one is decided on its parent.
	HasACPI bool
	// HasET tells whether the type expires.
	HasET bool
	// Creatable/Updatable/Deletable by clients through the API.
	Creatable, Updatable, Deletable bool
	// AdminOnly: only the CSE's administrator may create, update or delete
	// resources of this type, whatever access control policies say (the
	// M2M service subscription resources).
	AdminOnly bool
	// INOnly: the type exists on an IN-CSE only; an MN-CSE or ASN-CSE
	// answers 4005 to its CREATE (TS-0004 7.3.3.3).
	INOnly bool
	// Check runs after every attribute passed, for rules across attributes.
	Check func(op primitive.Operation, content map[string]any) error
}

var registry = map[int]*Type{}
var byKey = map[string]*Type{}

// Register adds a type; called from the init of each type's file.
func Register(t *Type) {
	if _, dup := registry[t.Ty]; dup {
		panic(fmt.Sprintf("resource type %d registered twice", t.Ty))
	}
	t.Key = "m2m:" + t.SN
	registry[t.Ty] = t
	byKey[t.Key] = t
}

// Lookup returns the registered type ty.
func Lookup(ty int) (*Type, bool) {
	t, ok := registry[ty]
	return t, ok
}

// Key returns the JSON key of ty, "m2m:<sn>".
func Key(ty int) string {
	if t, ok := registry[ty]; ok {
		return t.Key
	}
	return fmt.Sprintf("m2m:ty%d", ty)
}

// Supported returns the registered types in order (for the CSEBase srt attribute).
func Supported() []int {
	out := make([]int, 0, len(registry))
	for ty := range registry {
		out = append(out, ty)
	}
	sort.Ints(out)
	return out
}

// AllowsChild reports whether a child of type child may be created under t.
func (t *Type) AllowsChild(child int) bool { return slices.Contains(t.Children, child) }

// Validate checks the content of a CREATE or UPDATE request against the
// attribute table. body is the inner object (the value of "m2m:<sn>"). Every
// failure is a 4000 BAD_REQUEST that names the attribute.
func (t *Type) Validate(op primitive.Operation, body map[string]any) error {
	for sn, v := range body {
		a, ok := t.Attrs[sn]
		if !ok {
			return primitive.Errorf(primitive.RSCBadRequest, "unknown attribute %q for %s", sn, t.Key)
		}
		p := a.Create
		if op == primitive.OpUpdate {
			p = a.Update
		}
		if p == NP {
			if a.Create == NP && a.Update == NP {
				return primitive.Errorf(primitive.RSCBadRequest, "attribute %q of %s is read-only", sn, t.Key)
			}
			return primitive.Errorf(primitive.RSCBadRequest, "attribute %q of %s is not permitted in %s", sn, t.Key, op)
		}
		if v == nil {
			if op == primitive.OpCreate {
				if sn == "cr" {
					continue // "cr": null asks the CSE to fill in the creator
				}
				return primitive.Errorf(primitive.RSCBadRequest, "attribute %q of %s must not be null", sn, t.Key)
			}
			if (a.Single || a.Update == M) && sn != "et" {
				return primitive.Errorf(primitive.RSCBadRequest, "attribute %q of %s cannot be deleted", sn, t.Key)
			}
			continue // null deletes an optional attribute; et null lets the CSE choose
		}
		if sn == "cr" && op == primitive.OpCreate {
			return primitive.Errorf(primitive.RSCBadRequest, "attribute \"cr\" must be null: the CSE sets the creator")
		}
		if err := a.check(v); err != nil {
			return primitive.Errorf(primitive.RSCBadRequest, "attribute %q of %s: %v", sn, t.Key, err)
		}
	}
	if op == primitive.OpCreate {
		for sn, a := range t.Attrs {
			if a.Create == M {
				if _, ok := body[sn]; !ok {
					return primitive.Errorf(primitive.RSCBadRequest, "mandatory attribute %q of %s is missing", sn, t.Key)
				}
			}
		}
	}
	if t.Check != nil {
		return t.Check(op, body)
	}
	return nil
}

func (a *Attr) check(v any) error {
	switch a.Kind {
	case KString:
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("must be a string, not %s", typeName(v))
		}
		if a.NonEmpty && s == "" {
			return fmt.Errorf("must not be empty")
		}
	case KBool:
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("must be a boolean, not %s", typeName(v))
		}
	case KInt:
		if err := a.checkInt(v); err != nil {
			return err
		}
	case KTime:
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("must be a timestamp string, not %s", typeName(v))
		}
		if _, ok := primitive.ParseTime(s); !ok {
			return fmt.Errorf("%q is not a timestamp (YYYYMMDDThhmmss[,ffffff])", s)
		}
	case KAbsRel:
		switch x := v.(type) {
		case int64:
		case string:
			if _, ok := primitive.ParseTime(x); !ok {
				return fmt.Errorf("%q is not a timestamp", x)
			}
		default:
			return fmt.Errorf("must be a timestamp or milliseconds, not %s", typeName(v))
		}
	case KDuration:
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("must be an ISO 8601 duration string, not %s", typeName(v))
		}
		if _, err := ParseDuration(s); err != nil {
			return err
		}
	case KStrList:
		l, ok := v.([]any)
		if !ok {
			return fmt.Errorf("must be a list, not %s", typeName(v))
		}
		if a.NonEmpty && len(l) == 0 {
			return fmt.Errorf("must not be an empty list")
		}
		for i, e := range l {
			s, ok := e.(string)
			if !ok {
				return fmt.Errorf("entry %d must be a string, not %s", i, typeName(e))
			}
			if s == "" {
				return fmt.Errorf("entry %d must not be empty", i)
			}
		}
	case KIntList:
		l, ok := v.([]any)
		if !ok {
			return fmt.Errorf("must be a list, not %s", typeName(v))
		}
		if a.NonEmpty && len(l) == 0 {
			return fmt.Errorf("must not be an empty list")
		}
		for i, e := range l {
			if err := a.checkInt(e); err != nil {
				return fmt.Errorf("entry %d: %v", i, err)
			}
		}
	case KObject:
		if _, ok := v.(map[string]any); !ok {
			return fmt.Errorf("must be an object, not %s", typeName(v))
		}
	case KAnyList:
		if _, ok := v.([]any); !ok {
			return fmt.Errorf("must be a list, not %s", typeName(v))
		}
	case KAny:
	}
	if a.Check != nil {
		return a.Check(v)
	}
	return nil
}

func (a *Attr) checkInt(v any) error {
	n, ok := v.(int64)
	if !ok {
		return fmt.Errorf("must be an integer, not %s", typeName(v))
	}
	if len(a.Enum) > 0 {
		if !slices.Contains(a.Enum, n) {
			return fmt.Errorf("%d is not one of %v", n, a.Enum)
		}
		return nil
	}
	if n < a.Min || (a.Max != 0 && n > a.Max) {
		if a.Max != 0 {
			return fmt.Errorf("%d is outside %d..%d", n, a.Min, a.Max)
		}
		return fmt.Errorf("%d is below %d", n, a.Min)
	}
	return nil
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64, uint64:
		return "an integer"
	case float64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	case []byte:
		return "a byte string"
	}
	return strings.TrimPrefix(fmt.Sprintf("%T", v), "*")
}
