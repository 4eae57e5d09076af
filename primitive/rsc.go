package primitive

//go:generate go run ../internal/gen/rsc rsc.tsv rsc_gen.go

import "strconv"

// RSC is a oneM2M Response Status Code (TS-0004 6.6).
type RSC int

type rscInfo struct {
	name string
	http int
	coap string
}

// Name returns the spec name of the code, e.g. "NOT_FOUND".
func (c RSC) Name() string {
	if i, ok := rscTable[c]; ok {
		return i.name
	}
	return "RSC_" + strconv.Itoa(int(c))
}

// HTTPStatus maps the code to the HTTP status of TS-0009 Table 6.3.2-1.
// Codes the table does not list map by class (2xxx → 200, 4xxx → 400, else 500).
func (c RSC) HTTPStatus() int {
	if i, ok := rscTable[c]; ok {
		return i.http
	}
	switch {
	case c >= 2000 && c < 3000:
		return 200
	case c >= 4000 && c < 5000:
		return 400
	}
	return 500
}

// CoAPCode returns the CoAP response code ("4.04") of TS-0008 Table 6.2.4-1.
func (c RSC) CoAPCode() string {
	if i, ok := rscTable[c]; ok {
		return i.coap
	}
	return "5.00"
}

// Known reports whether c is a code in the table.
func (c RSC) Known() bool { _, ok := rscTable[c]; return ok }

// Success reports whether c is a 2xxx code.
func (c RSC) Success() bool { return c >= 2000 && c < 3000 }

func (c RSC) String() string { return strconv.Itoa(int(c)) + " " + c.Name() }
