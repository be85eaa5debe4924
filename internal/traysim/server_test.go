package traysim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type answer struct {
	code int
	body map[string]any
	raw  string
	hdr  http.Header
}

func call(t *testing.T, h http.Handler, token, method, path, body string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	a := answer{code: rec.Code, raw: rec.Body.String(), hdr: rec.Header()}
	_ = json.Unmarshal(rec.Body.Bytes(), &a.body)
	return a
}

func TestPageSizesCursorsAndEnums(t *testing.T) {
	s := NewDefault(ShapeFull)
	for path, maxSize := range map[string]int{"/core/v1/users": 1000, "/core/v1/roles": 1000, "/core/v1/workspaces": 100} {
		if a := call(t, s, AdminToken, "GET", path+"?first="+itoa(maxSize+1), ""); a.code != 400 || a.body["message"] == nil {
			t.Errorf("%s first=max+1: %d %s, want 400 with a message", path, a.code, a.raw)
		}
		if a := call(t, s, AdminToken, "GET", path+"?first=0", ""); a.code != 400 {
			t.Errorf("%s first=0: %d", path, a.code)
		}
		if a := call(t, s, AdminToken, "GET", path+"?first="+itoa(maxSize), ""); a.code != 200 {
			t.Errorf("%s first=max: %d", path, a.code)
		}
	}
	a := call(t, s, AdminToken, "GET", "/core/v1/users?first=5", "")
	pi := a.body["pageInfo"].(map[string]any)
	cursor := pi["endCursor"].(string)
	if pi["hasNextPage"] != true || strings.Contains(cursor, "5") && len(cursor) < 8 {
		t.Fatalf("page info %v: want a next page and an opaque cursor", pi)
	}
	if a := call(t, s, AdminToken, "GET", "/core/v1/roles?cursor="+cursor, ""); a.code != 400 {
		t.Errorf("a users cursor was accepted by roles: %d", a.code)
	}
	ws := call(t, s, AdminToken, "GET", "/core/v1/workspaces", "")
	seenTypes := map[string]bool{}
	for _, e := range ws.body["elements"].([]any) {
		seenTypes[e.(map[string]any)["type"].(string)] = true
	}
	for _, typ := range []string{"Organization", "Shared", "Personal", "Embedded"} {
		if !seenTypes[typ] {
			t.Errorf("no %s workspace (PascalCase) in %v", typ, seenTypes)
		}
	}
	empty := call(t, s, AdminToken, "GET", "/core/v1/workspaces/"+s.Snapshot().WorkspacesOfType("Embedded")[0].ID+"/users", "")
	if epi := empty.body["pageInfo"].(map[string]any); epi["endCursor"] != nil || epi["hasNextPage"] != false {
		t.Errorf("empty page info %v: cursors must be absent", epi)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestRoleIDsAreDistinctPerWorkspace(t *testing.T) {
	sn := NewDefault(ShapeFull).Snapshot()
	seen := map[string]string{}
	for _, w := range sn.Workspaces {
		for _, r := range w.Roles {
			if other, dup := seen[r.ID]; dup {
				t.Fatalf("role id %s used by %s and %s", r.ID, other, w.ID)
			}
			seen[r.ID] = w.ID
		}
	}
	for _, r := range sn.OrgRoles {
		if _, dup := seen[r.ID]; dup {
			t.Fatalf("org role id %s reused as a workspace role", r.ID)
		}
	}
}

func TestListShapes(t *testing.T) {
	full, minimal := NewDefault(ShapeFull), NewDefault(ShapeMinimal)
	f := call(t, full, AdminToken, "GET", "/core/v1/users", "").body["elements"].([]any)[0].(map[string]any)
	m := call(t, minimal, AdminToken, "GET", "/core/v1/users", "").body["elements"].([]any)[0].(map[string]any)
	if f["email"] == nil || f["role"] == nil || f["accountType"] != "Regular" {
		t.Errorf("full user item %v", f)
	}
	if m["email"] != nil || m["role"] != nil || m["id"] == nil || m["name"] == nil {
		t.Errorf("minimal user item %v: want only id and name", m)
	}
	wsID := minimal.Snapshot().WorkspacesOfType("Shared")[0].ID
	mm := call(t, minimal, AdminToken, "GET", "/core/v1/workspaces/"+wsID+"/users", "").body["elements"].([]any)[0].(map[string]any)
	if len(mm) != 1 || mm["id"] == nil {
		t.Errorf("minimal member item %v: want only id", mm)
	}
}

func TestAuthorizationFollowsTheReference(t *testing.T) {
	s := NewDefault(ShapeFull)
	sn := s.Snapshot()
	shared := sn.WorkspacesOfType("Shared")[0]
	other := sn.WorkspacesOfType("Shared")[1]
	s.AddToken("ws-viewer", Token{Kind: TokenWorkspace, WorkspaceID: shared.ID, RoleName: RoleViewer})

	cases := []struct {
		token, method, path string
		want                int
	}{
		{"", "GET", "/core/v1/workspaces", 401},
		{"nope", "GET", "/core/v1/users", 401},
		{ViewerToken, "GET", "/core/v1/users", 403},
		{ViewerToken, "GET", "/core/v1/roles", 403},
		{ViewerToken, "GET", "/core/v1/users/" + sn.Users[0].ID, 200},
		{ViewerToken, "GET", "/core/v1/workspaces/" + shared.ID + "/roles", 403},
		{ViewerToken, "GET", "/core/v1/workspaces/" + shared.ID + "/users", 200},
		{"ws-viewer", "GET", "/core/v1/workspaces/" + shared.ID + "/users", 200},
		{"ws-viewer", "GET", "/core/v1/workspaces/" + other.ID + "/users", 403},
		{MasterToken, "GET", "/core/v1/users", 200},
		{AdminToken, "GET", "/core/v1/users/not_valid!", 400},
	}
	for _, c := range cases {
		a := call(t, s, c.token, c.method, c.path, "")
		if a.code != c.want {
			t.Errorf("%s %s with %q: %d, want %d (%s)", c.method, c.path, c.token, a.code, c.want, a.raw)
		}
		if a.code >= 400 && a.body["message"] == nil {
			t.Errorf("%s %s: error body %q has no message", c.method, c.path, a.raw)
		}
	}
	if n := len(call(t, s, "ws-viewer", "GET", "/core/v1/workspaces", "").body["elements"].([]any)); n != 1 {
		t.Errorf("a workspace-scoped token listed %d workspaces, want 1", n)
	}
}

func TestWriteRules(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	s := New(Options{Org: DefaultOrgOptions, InviteDailyLimit: 2, DeleteCreatesWorkspace: true, Now: func() time.Time { return now }})
	sn := s.Snapshot()
	shared := sn.WorkspacesOfType("Shared")[0]
	viewer := sn.OrgRoleByName(RoleViewer).ID
	var member, outsider, orgAdmin string
	for _, u := range sn.Users {
		_, in := sn.Members[shared.ID][u.ID]
		switch {
		case in && sn.OrgRoleName(u.OrgRoleID) == RoleAdmin && orgAdmin == "":
			orgAdmin = u.ID
		case in && sn.OrgRoleName(u.OrgRoleID) == RoleContributor && member == "":
			member = u.ID
		case !in && u.AccountType == "Regular" && sn.OrgRoleName(u.OrgRoleID) == RoleViewer && outsider == "":
			outsider = u.ID
		}
	}
	base := "/core/v1/workspaces/" + shared.ID + "/users"
	check := func(name string, a answer, want int) {
		t.Helper()
		if a.code != want {
			t.Errorf("%s: %d %s, want %d", name, a.code, a.raw, want)
		}
	}
	check("add a member again", call(t, s, AdminToken, "POST", base, `{"userId":"`+member+`","roleId":"`+shared.RoleByName(RoleViewer).ID+`"}`), 400)
	check("add with another workspace's role", call(t, s, AdminToken, "POST", base, `{"userId":"`+outsider+`","roleId":"`+sn.WorkspacesOfType("Shared")[1].Roles[0].ID+`"}`), 400)
	check("add", call(t, s, AdminToken, "POST", base, `{"userId":"`+outsider+`","roleId":"`+shared.RoleByName(RoleViewer).ID+`"}`), 200)
	check("change a non-member's role", call(t, s, AdminToken, "PUT", base+"/"+sn.Users[0].ID, `{"roleId":"`+shared.Roles[0].ID+`"}`), 404)
	if orgAdmin != "" {
		check("change an org Admin's role", call(t, s, AdminToken, "PUT", base+"/"+orgAdmin, `{"roleId":"`+shared.RoleByName(RoleViewer).ID+`"}`), 400)
	}
	check("remove", call(t, s, AdminToken, "DELETE", base+"/"+outsider, ""), 200)
	check("remove again", call(t, s, AdminToken, "DELETE", base+"/"+outsider, ""), 404)
	check("delete the Owner", call(t, s, AdminToken, "DELETE", "/core/v1/users/"+sn.Users[0].ID, ""), 400)
	del := call(t, s, AdminToken, "DELETE", "/core/v1/users/"+member, "")
	check("delete", del, 204)
	if del.raw != "" {
		t.Errorf("204 with body %q", del.raw)
	}
	check("make someone Owner", call(t, s, AdminToken, "PUT", "/core/v1/users/"+outsider+"/roles", `{"roleId":"`+sn.OrgRoleByName(RoleOwner).ID+`"}`), 400)
	check("create a duplicate email", call(t, s, AdminToken, "POST", "/core/v1/users", `{"name":"x","email":"`+sn.Users[2].Email+`","organizationRoleId":"`+viewer+`"}`), 400)
	check("invite 1", call(t, s, AdminToken, "POST", "/core/v1/invites", `{"email":"a@x.example","organizationRoleId":"`+viewer+`"}`), 200)
	check("invite 2", call(t, s, AdminToken, "POST", "/core/v1/invites", `{"email":"b@x.example","organizationRoleId":"`+viewer+`"}`), 200)
	over := call(t, s, AdminToken, "POST", "/core/v1/invites", `{"email":"c@x.example","organizationRoleId":"`+viewer+`"}`)
	check("invite over the daily cap", over, 429)
	if over.body["message"] == nil || over.body["code"] != nil {
		t.Errorf("429 body %q: want only a message", over.raw)
	}
	check("invite with a bad email", call(t, s, AdminToken, "POST", "/core/v1/invites", `{"email":"not an email","organizationRoleId":"`+viewer+`"}`), 400)
	if len(s.Snapshot().WorkspacesOfType("Shared")) != len(sn.WorkspacesOfType("Shared"))+1 {
		t.Error("deleting a user did not create the documented Shared workspace named after them")
	}
}

func TestFaults(t *testing.T) {
	s := NewDefault(ShapeFull)
	s.SetFaults(Faults{TooManyEvery: 1, RetryAfter: "seconds"})
	a := call(t, s, AdminToken, "GET", "/core/v1/roles", "")
	if a.code != 429 || a.hdr.Get("Retry-After") != "1" || a.body["message"] == nil {
		t.Fatalf("429: %d %v %s", a.code, a.hdr, a.raw)
	}
	s.SetFaults(Faults{ServerErrorRate: 1})
	if a := call(t, s, AdminToken, "GET", "/core/v1/roles", ""); a.code < 500 || a.body["message"] == nil {
		t.Fatalf("5xx: %d %s", a.code, a.raw)
	}
	s.SetFaults(Faults{MalformedRate: 1, Seed: 3})
	kinds := map[string]bool{}
	for i := 0; i < 30; i++ {
		a := call(t, s, AdminToken, "GET", "/core/v1/roles", "")
		if a.code != 200 || a.body != nil && a.hdr.Get("Content-Type") == "application/json" {
			t.Fatalf("malformed answer parsed as JSON: %s", a.raw)
		}
		kinds[a.hdr.Get("Content-Type")] = true
	}
	if len(kinds) != 3 {
		t.Errorf("malformed kinds %v, want truncated JSON, HTML and a wrong content type", kinds)
	}
}
