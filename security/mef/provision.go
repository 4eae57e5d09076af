package mef

import (
	"strings"

	"github.com/onecse/onecse/security/credentials"
	"github.com/onecse/onecse/security/enrol"
)

// WriteGrant writes the credential of an enrolment to the registrar's
// credential file at path: the credentials this MEF (fqdn) issued to the
// same CSE-ID before are revoked, and the new one is added with KpsaID =
// KeID, bound to the CSE-ID, ending with the enrolment. The registrar
// uses it once it has reloaded the file.
func WriteGrant(path, fqdn string, g Grant) error {
	cur, err := credentials.Load(path)
	if err != nil {
		return err
	}
	for _, c := range cur.All() {
		if c.CSEID == g.Enrolee.CSEID && strings.HasSuffix(c.KpsaID, "@"+fqdn) && !c.Revoked {
			if err := credentials.SetRevoked(path, c.KpsaID); err != nil {
				return err
			}
		}
	}
	c := credentials.Credential{KpsaID: g.KeID, Key: g.Key, CSEID: g.Enrolee.CSEID, NotAfter: g.NotAfter}
	_, err = credentials.PutPSK(path, c, nil)
	return err
}

// Enrolees are the enrolees of an enrolment file by KpmID, with their
// bootstrap keys read and their Enrolment Expiry computed.
func Enrolees(f *enrol.File) (map[string]Enrolee, error) {
	m := map[string]Enrolee{}
	for i := range f.Enrolees {
		e := &f.Enrolees[i]
		key, err := enrol.EnroleeKey(e)
		if err != nil {
			return nil, err
		}
		m[e.KpmID] = Enrolee{KpmID: e.KpmID, Kpm: key, CSEID: e.CSEID, SubID: e.Subscription, NotAfter: f.EnroleeNotAfter(e)}
	}
	return m, nil
}
