package console

import (
	"slices"
	"strconv"

	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/resource"
)

// Description is what the page's forms are built from: the registered
// resource types with their attribute tables, taken from package resource
// when the console starts, so that a form knows exactly what the CSE accepts.
type Description struct {
	Types []TypeDesc `json:"types"`
	// RSC names the response status codes, e.g. "4004": "NOT_FOUND".
	RSC map[string]string `json:"rsc"`
	// Releases are the release version indicators the CSE accepts.
	Releases []string `json:"releases"`
}

// TypeDesc is one resource type.
type TypeDesc struct {
	Ty        int        `json:"ty"`
	SN        string     `json:"sn"`   // "cnt"
	Key       string     `json:"key"`  // "m2m:cnt"
	Name      string     `json:"name"` // "container"
	Children  []int      `json:"children"`
	Creatable bool       `json:"creatable"`
	Updatable bool       `json:"updatable"`
	Deletable bool       `json:"deletable"`
	Attrs     []AttrDesc `json:"attrs"`
}

// AttrDesc is one attribute: its short name, long name, value kind and
// whether a CREATE and an UPDATE must (M), may (O) or may not (NP) carry it.
type AttrDesc struct {
	SN       string  `json:"sn"`
	Name     string  `json:"name"`
	Kind     string  `json:"kind"`
	Create   string  `json:"create"`
	Update   string  `json:"update"`
	Min      *int64  `json:"min,omitempty"`
	Max      *int64  `json:"max,omitempty"`
	Enum     []int64 `json:"enum,omitempty"`
	NonEmpty bool    `json:"nonEmpty,omitempty"`
	// Single: an UPDATE may not delete it (null).
	Single bool `json:"single,omitempty"`
}

// kindNames are the JSON names of resource.Kind; kindName reports "" for a
// kind missing here, which the package's test catches.
var kindNames = map[resource.Kind]string{
	resource.KString: "string", resource.KBool: "bool", resource.KInt: "int", resource.KTime: "time",
	resource.KAbsRel: "absRelTime", resource.KStrList: "stringList", resource.KIntList: "intList",
	resource.KAny: "any", resource.KObject: "object", resource.KAnyList: "list", resource.KDuration: "duration",
}

func presence(p resource.Presence) string {
	switch p {
	case resource.M:
		return "M"
	case resource.O:
		return "O"
	}
	return "NP"
}

// universalOrder puts the attributes every resource has first, in the order
// TS-0004 lists them; the rest follow by short name.
var universalOrder = []string{"rn", "ty", "ri", "pi", "ct", "lt", "et", "lbl", "acpi", "at", "aa", "daci", "cr"}

// Describe returns the description of every registered resource type.
func Describe() Description {
	d := Description{RSC: map[string]string{}, Releases: slices.Clone(primitive.SupportedReleases)}
	for _, ty := range resource.Supported() {
		t, _ := resource.Lookup(ty)
		td := TypeDesc{
			Ty: t.Ty, SN: t.SN, Key: t.Key, Name: TypeName(t.Ty), Children: slices.Clone(t.Children),
			Creatable: t.Creatable, Updatable: t.Updatable, Deletable: t.Deletable,
		}
		if td.Children == nil {
			td.Children = []int{}
		}
		for _, a := range t.Attrs {
			ad := AttrDesc{SN: a.SN, Name: AttrName(a.SN), Kind: kindNames[a.Kind], Create: presence(a.Create), Update: presence(a.Update),
				Enum: slices.Clone(a.Enum), NonEmpty: a.NonEmpty, Single: a.Single}
			if a.Kind == resource.KInt || a.Kind == resource.KIntList {
				if len(a.Enum) == 0 {
					lo := a.Min
					ad.Min = &lo
					if a.Max != 0 {
						hi := a.Max
						ad.Max = &hi
					}
				}
			}
			td.Attrs = append(td.Attrs, ad)
		}
		slices.SortFunc(td.Attrs, func(a, b AttrDesc) int {
			ia, ib := slices.Index(universalOrder, a.SN), slices.Index(universalOrder, b.SN)
			switch {
			case ia >= 0 && ib >= 0:
				return ia - ib
			case ia >= 0:
				return -1
			case ib >= 0:
				return 1
			case a.SN < b.SN:
				return -1
			case a.SN > b.SN:
				return 1
			}
			return 0
		})
		d.Types = append(d.Types, td)
	}
	for c := primitive.RSC(1000); c < 10000; c++ {
		if c.Known() {
			d.RSC[strconv.Itoa(int(c))] = c.Name()
		}
	}
	return d
}
