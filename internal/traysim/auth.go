package traysim

import (
	"net/http"
	"strings"
)

// authenticate finds the request's token and what it may do now. An API
// user's token acts with that user's current organization role, as Tray's
// RBAC tokens do: it stops working when the user is deleted, and loses the
// organization-wide rights (listing users, roles…) with the Admin role.
func (s *Server) authenticate(r *http.Request) (Token, bool) {
	h := r.Header.Get("Authorization")
	raw, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return Token{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, ok := s.st.tokens[raw]
	if !ok || tok.UserID == "" || tok.Kind == TokenWorkspace {
		return tok, ok
	}
	u := s.st.user(tok.UserID)
	if u == nil {
		return Token{}, false
	}
	switch s.st.orgRole(u.OrgRoleID).Name {
	case RoleOwner, RoleAdmin:
		tok.Kind = TokenOrgAdmin
	default:
		tok.Kind = TokenOrgViewer
	}
	return tok, true
}

// Authorization levels (docs/tray-api-notes.md, "Tokens and rights").
func orgAdmin(t Token) bool  { return t.Kind == TokenOrgAdmin || t.Kind == TokenMaster }
func orgScoped(t Token) bool { return t.Kind != TokenWorkspace }

func wsViewer(t Token, wsID string) bool {
	return orgScoped(t) || t.WorkspaceID == wsID
}

func wsAdmin(t Token, wsID string) bool {
	return orgAdmin(t) || (t.Kind == TokenWorkspace && t.WorkspaceID == wsID && t.RoleName == RoleAdmin)
}
