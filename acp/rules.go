package acp

import (
	"net/netip"
	"time"
)

// Operation bits of acop (m2m:accessControlOperations, TS-0004 Table
// 6.3.4.2.29-1). They are bits, not the m2m:operation enumeration used in the
// "op" request parameter.
const (
	OpCreate    uint32 = 1
	OpRetrieve  uint32 = 2
	OpUpdate    uint32 = 4
	OpDelete    uint32 = 8
	OpNotify    uint32 = 16
	OpDiscovery uint32 = 32

	// OpAll is the union of all defined bits (acop = 63).
	OpAll = OpCreate | OpRetrieve | OpUpdate | OpDelete | OpNotify | OpDiscovery
)

// Resource type numbers this package needs to know about (m2m:resourceType).
const (
	tyMgmtObj     = 13
	tyMgmtObjAnnc = 10013
)

// Rules is a parsed m2m:setOfAcrs: the rules of one pv or pvs attribute.
type Rules []Rule

// Rule is one m2m:accessControlRule (an element of "acr").
type Rule struct {
	// Originators is acor, unchanged (normalisation happens at match time
	// because it depends on Env).
	Originators []string
	// Operations is acop, a bit mask of Op* values (1..63).
	Operations uint32
	// Contexts is acco; empty means "no context restriction".
	Contexts []Context
	// AuthRequired is acaf; when true only authenticated originators match.
	AuthRequired bool
	// ObjectDetails is acod; empty means "no restriction". It only restricts
	// CREATE (TS-0003 7.1.3).
	ObjectDetails []ObjectDetail
}

// Context is one entry of acco. A condition whose slice is empty (or pointer
// nil) is absent and therefore does not restrict.
type Context struct {
	// Windows is actw: the request time must match at least one entry.
	Windows []Schedule
	// IPv4 and IPv6 are acip.ipv4 / acip.ipv6. When either is non-empty the
	// originator address must lie in one of the prefixes of its family.
	IPv4 []netip.Prefix
	IPv6 []netip.Prefix
	// CountryCodes is aclr.accc, upper-cased ISO 3166-1 alpha-2 codes.
	CountryCodes []string
	// Circle is aclr.accr.
	Circle *Circle
}

// Circle is a circular region (aclr.accr): centre and radius in metres.
type Circle struct {
	Lat, Lon float64 // degrees
	Radius   float64 // metres
}

// LatLon is a position in degrees (WGS84).
type LatLon struct {
	Lat, Lon float64
}

// ObjectDetail is one entry of acod (accessControlObjectDetails).
type ObjectDetail struct {
	// Ty is acod.ty: the type of the targeted (parent) resource; nil = any.
	Ty *int64
	// Spty is acod.spty when it was given as an integer (a mgmtDefinition);
	// it then only matches a <mgmtObj> target with that mgmtDefinition.
	Spty *int64
	// Cnd is acod.spty when it was given as a string (a containerDefinition,
	// e.g. of a <flexContainer>); "" = not given.
	Cnd string
	// ChildTypes is acod.chty: resource types that may be created.
	ChildTypes []int64
}

// Request carries the facts about one request that a rule is checked against.
type Request struct {
	// Originator is the From parameter as received: an AE-ID-Stem ("CAE1"),
	// SP-relative ("/id-mn/CAE1", "/id-mn"), or absolute ("//sp/id-mn/CAE1").
	Originator string
	// Operation is the requested Op* bit (normally exactly one). A discovery
	// (RETRIEVE with fu=1) must be passed as OpDiscovery. If several bits are
	// set, a rule must grant all of them.
	Operation uint32
	// Time is the request time (rq_time). Zero = unknown: actw cannot match.
	Time time.Time
	// Addr is the originator's IP address. Invalid (zero) = unknown: acip
	// cannot match. IPv4-mapped IPv6 addresses are treated as IPv4.
	Addr netip.Addr
	// Authenticated tells whether the Hosting CSE considers the originator
	// authenticated (TS-0003 7.1.2); needed for rules with acaf=true.
	Authenticated bool
	// ChildType is, for CREATE, the ty of the resource being created.
	ChildType int64
	// TargetType is the ty of the targeted resource (the parent for CREATE).
	TargetType int64
	// TargetSpty is the mgmtDefinition of the target when it is a <mgmtObj>
	// (TargetType 13 or 10013); ignored for other types.
	TargetSpty int64
	// TargetCnd is the containerDefinition of the target, "" if none.
	TargetCnd string
	// Location is the originator's position; nil = unknown: aclr.accr cannot
	// match.
	Location *LatLon
	// Country is the ISO 3166-1 alpha-2 code of the originator's location;
	// "" = unknown: aclr.accc cannot match. Case-insensitive.
	Country string
	// RoleIDs are Role-IDs the originator holds (e.g. from verified tokens);
	// they match acor entries of the form "name@issuer".
	RoleIDs []string
}

// Env describes the CSE evaluating the request.
type Env struct {
	// CSEID is the own CSE-ID, e.g. "/id-mn" (a missing leading "/" is added).
	CSEID string
	// SPID is the own M2M-SP-ID, e.g. "//sp.example.com" or "sp.example.com".
	SPID string
	// IsGroupMember reports whether originator (as received) is a member of
	// the <group> resource whose ID is groupID (an acor entry, unchanged). It
	// is only asked about entries that matched nothing else. nil = groups are
	// not supported and never match. It must return false when the group
	// cannot be read (TS-0003: unreadable group → deny).
	IsGroupMember func(groupID, originator string) bool
}
