// Package coap is the oneM2M CoAP binding (TS-0008 V3.9.0) over UDP and
// DTLS 1.2: a server that turns CoAP requests into request primitives for the
// core, and a client (cse.Sender) for coap:// and coaps:// targets.
//
// The CoAP layer (messages, CON/NON, deduplication, block-wise transfer) is
// github.com/plgd-dev/go-coap/v3; DTLS is github.com/pion/dtls/v3. This
// package only maps between CoAP messages and primitives.
package coap

import (
	"github.com/plgd-dev/go-coap/v3/message"

	"github.com/onecse/onecse/codec"
)

// The oneM2M options of TS-0008 Table 6.2.2.4.0-1 with the numbers of V3.7.0
// and later (the IANA-aligned ones; protocol.md 7.3). All are critical and
// unsafe (odd numbers with bit 1 set).
const (
	optOT    message.OptionID = 259 // Originating Timestamp, string 15
	optRTURI message.OptionID = 263 // rt.nu, '&'-joined, string 0-255
	optTY    message.OptionID = 267 // Resource Type, uint 2
	optRVI   message.OptionID = 271 // Release Version Indicator, string 1-2
	optASRI  message.OptionID = 275 // Authorization Signature Request Information
	optFR    message.OptionID = 279 // From, string 0-255
	optRQI   message.OptionID = 283 // Request Identifier, string 0-255
	optRQET  message.OptionID = 291 // Request Expiration Timestamp, string 15
	optRSET  message.OptionID = 295 // Result Expiration Timestamp, string 15
	optOET   message.OptionID = 299 // Operation Execution Time, string 15
	optEC    message.OptionID = 303 // Event Category, uint 1
	optRSC   message.OptionID = 307 // Response Status Code, uint 2
	optGID   message.OptionID = 311 // Group Request Identifier, string 0-255
	optCTO   message.OptionID = 319 // Content Offset, uint 2
	optCTS   message.OptionID = 323 // Content Status, uint 2
	optATI   message.OptionID = 327 // Assigned Token Identifiers, string 0-255
	optVSI   message.OptionID = 331 // Vendor Information, string 0-255
	optGTM   message.OptionID = 335 // Group Request Target Members, string 0-512
	optAUS   message.OptionID = 339 // Authorization Signatures, string 0-255
)

// optionDefs are the formats and lengths of the table. The timestamps are
// "string 15" in the table, but a relative time (milliseconds) and a
// timestamp with a fraction are valid values too, so they get up to 32.
var optionDefs = map[message.OptionID]message.OptionDef{
	optOT:    {ValueFormat: message.ValueString, MinLen: 1, MaxLen: 32},
	optRTURI: {ValueFormat: message.ValueString, MinLen: 0, MaxLen: 255},
	optTY:    {ValueFormat: message.ValueUint, MinLen: 0, MaxLen: 2},
	optRVI:   {ValueFormat: message.ValueString, MinLen: 1, MaxLen: 2},
	optASRI:  {ValueFormat: message.ValueString, MinLen: 0, MaxLen: 255},
	optFR:    {ValueFormat: message.ValueString, MinLen: 0, MaxLen: 255},
	optRQI:   {ValueFormat: message.ValueString, MinLen: 0, MaxLen: 255},
	optRQET:  {ValueFormat: message.ValueString, MinLen: 1, MaxLen: 32},
	optRSET:  {ValueFormat: message.ValueString, MinLen: 1, MaxLen: 32},
	optOET:   {ValueFormat: message.ValueString, MinLen: 1, MaxLen: 32},
	optEC:    {ValueFormat: message.ValueUint, MinLen: 0, MaxLen: 2},
	optRSC:   {ValueFormat: message.ValueUint, MinLen: 0, MaxLen: 2},
	optGID:   {ValueFormat: message.ValueString, MinLen: 0, MaxLen: 255},
	optCTO:   {ValueFormat: message.ValueUint, MinLen: 0, MaxLen: 2},
	optCTS:   {ValueFormat: message.ValueUint, MinLen: 0, MaxLen: 2},
	optATI:   {ValueFormat: message.ValueString, MinLen: 0, MaxLen: 255},
	optVSI:   {ValueFormat: message.ValueString, MinLen: 0, MaxLen: 255},
	optGTM:   {ValueFormat: message.ValueString, MinLen: 0, MaxLen: 512},
	optAUS:   {ValueFormat: message.ValueString, MinLen: 0, MaxLen: 255},
}

// go-coap answers a request that carries a critical option it does not know
// with 4.02 Bad Option before any handler sees it (RFC 7252 5.4.1); its
// table of known options is a package variable, so the oneM2M options are
// added to it once, before any server or client of this package runs.
func init() {
	for id, def := range optionDefs {
		message.CoapOptionDefs[id] = def
	}
}

// The Content-Format numbers of TS-0008 6.2.2.2 (RFC 7252 12.3 and Table
// 6.2.2.2-1; the oneM2M ones are marked provisional in the specification).
// XML is not served by onecse.
const (
	cfJSON     message.MediaType = 50
	cfCBOR     message.MediaType = 60
	cfXML      message.MediaType = 41
	cfResJSON  message.MediaType = 10001
	cfNtfyJSON message.MediaType = 10003
	cfPreqJSON message.MediaType = 10007
	cfPrspJSON message.MediaType = 10009
	cfResCBOR  message.MediaType = 10010
	cfNtfyCBOR message.MediaType = 10011
	cfPreqCBOR message.MediaType = 10012
	cfPrspCBOR message.MediaType = 10013
	cfResXML   message.MediaType = 10014
	cfNtfyXML  message.MediaType = 10002
	cfPreqXML  message.MediaType = 10006
	cfPrspXML  message.MediaType = 10008
)

// mediaOf interprets a Content-Format or Accept number. ok is false for one
// onecse does not speak (XML and unknown numbers).
func mediaOf(cf message.MediaType) (codec.MediaInfo, bool) {
	switch cf {
	case cfJSON:
		return codec.MediaInfo{Format: codec.JSON}, true
	case cfCBOR:
		return codec.MediaInfo{Format: codec.CBOR}, true
	case cfResJSON:
		return codec.MediaInfo{Format: codec.JSON, OneM2M: true, Kind: "res"}, true
	case cfNtfyJSON:
		return codec.MediaInfo{Format: codec.JSON, OneM2M: true, Kind: "ntfy"}, true
	case cfPreqJSON:
		return codec.MediaInfo{Format: codec.JSON, OneM2M: true, Kind: "preq"}, true
	case cfPrspJSON:
		return codec.MediaInfo{Format: codec.JSON, OneM2M: true, Kind: "prsp"}, true
	case cfResCBOR:
		return codec.MediaInfo{Format: codec.CBOR, OneM2M: true, Kind: "res"}, true
	case cfNtfyCBOR:
		return codec.MediaInfo{Format: codec.CBOR, OneM2M: true, Kind: "ntfy"}, true
	case cfPreqCBOR:
		return codec.MediaInfo{Format: codec.CBOR, OneM2M: true, Kind: "preq"}, true
	case cfPrspCBOR:
		return codec.MediaInfo{Format: codec.CBOR, OneM2M: true, Kind: "prsp"}, true
	}
	return codec.MediaInfo{}, false
}

// contentFormat is the number of a serialisation: the plain type, or the
// oneM2M resource type when the peer used the oneM2M types.
func contentFormat(mi codec.MediaInfo) message.MediaType {
	switch {
	case mi.Format == codec.CBOR && mi.OneM2M:
		return cfResCBOR
	case mi.Format == codec.CBOR:
		return cfCBOR
	case mi.OneM2M:
		return cfResJSON
	}
	return cfJSON
}
