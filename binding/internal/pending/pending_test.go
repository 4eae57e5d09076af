package pending

import (
	"testing"

	"github.com/onecse/onecse/primitive"
)

func TestTable(t *testing.T) {
	var tb Table
	ch, done, ok := tb.Add("r1")
	if !ok {
		t.Fatal("add")
	}
	if _, _, ok := tb.Add("r1"); ok {
		t.Fatal("a second waiter for one rqi")
	}
	if tb.Deliver(&primitive.Response{RQI: "r2"}) {
		t.Fatal("a stray response was delivered")
	}
	if !tb.Deliver(&primitive.Response{RQI: "r1", RSC: 2000}) {
		t.Fatal("not delivered")
	}
	if r := <-ch; r.RSC != 2000 {
		t.Fatalf("got %+v", r)
	}
	if tb.Deliver(&primitive.Response{RQI: "r1"}) {
		t.Fatal("a duplicate response was delivered")
	}
	done()
	if _, done2, ok := tb.Add("r1"); !ok {
		t.Fatal("rqi not free after done")
	} else {
		done2()
	}
}
