package traysim

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
)

func decodeBody(r *http.Request, into any) bool {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		return false
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	return dec.Decode(into) == nil
}

func (s *Server) inviteUser(_ http.ResponseWriter, r *http.Request, tok Token) (int, any) {
	if !orgAdmin(tok) {
		return http.StatusForbidden, forbidden
	}
	var body struct {
		Email              string `json:"email"`
		OrganizationRoleID string `json:"organizationRoleId"`
	}
	if !decodeBody(r, &body) || !emailPattern.MatchString(body.Email) || !uuidPattern.MatchString(body.OrganizationRoleID) {
		return http.StatusBadRequest, msg("Invalid input: email and organizationRoleId are required")
	}
	if s.st.orgRole(body.OrganizationRoleID) == nil {
		return http.StatusNotFound, msg("Role not found")
	}
	if s.st.userByEmail(body.Email) != nil {
		return http.StatusBadRequest, msg("A user with this email already exists in the organization")
	}
	now := s.opts.Now()
	today := 0
	for _, inv := range s.st.invites {
		if now.Sub(inv.Expires.Add(-7*24*time.Hour)) < 24*time.Hour {
			today++
		}
	}
	if today >= s.opts.InviteDailyLimit {
		return http.StatusTooManyRequests, struct {
			Message string `json:"message"`
		}{"Invitation limit of 100 per day reached"}
	}
	inv := Invite{ID: s.st.newID(), Email: body.Email, OrgRoleID: body.OrganizationRoleID, Expires: now.Add(7 * 24 * time.Hour).UTC().Truncate(time.Second)}
	s.st.invites = append(s.st.invites, inv)
	return http.StatusOK, map[string]string{"inviteId": inv.ID, "expires": inv.Expires.Format(time.RFC3339)}
}

func (s *Server) createUser(_ http.ResponseWriter, r *http.Request, tok Token) (int, any) {
	if !orgAdmin(tok) {
		return http.StatusForbidden, forbidden
	}
	var body struct {
		Name               string `json:"name"`
		Email              string `json:"email"`
		OrganizationRoleID string `json:"organizationRoleId"`
	}
	if !decodeBody(r, &body) || body.Name == "" || !emailPattern.MatchString(body.Email) || !uuidPattern.MatchString(body.OrganizationRoleID) {
		return http.StatusBadRequest, msg("Invalid input: name, email and organizationRoleId are required")
	}
	role := s.st.orgRole(body.OrganizationRoleID)
	if role == nil {
		return http.StatusNotFound, msg("Role not found")
	}
	if role.Name == RoleOwner {
		return http.StatusBadRequest, msg("Invalid input: a new user cannot be the Owner")
	}
	if s.st.userByEmail(body.Email) != nil {
		return http.StatusBadRequest, msg("A user with this email already exists in the organization")
	}
	u := s.st.addUser(body.Name, body.Email, AccountRegular, role.ID)
	return http.StatusOK, s.userOut(u)
}

func (s *Server) deleteUser(_ http.ResponseWriter, r *http.Request, tok Token) (int, any) {
	if !orgAdmin(tok) {
		return http.StatusForbidden, forbidden
	}
	u := s.st.user(r.PathValue("userId"))
	if u == nil {
		return http.StatusNotFound, msg("User not found")
	}
	if s.st.orgRole(u.OrgRoleID).Name == RoleOwner {
		return http.StatusBadRequest, msg("The organization owner cannot be deleted")
	}
	for _, w := range s.st.workspaces {
		s.st.removeMember(w.ID, u.ID)
	}
	kept := s.st.workspaces[:0]
	for _, w := range s.st.workspaces {
		if w.Type == WorkspacePersonal && len(s.st.members[w.ID]) == 0 {
			delete(s.st.wsIndex, w.ID)
			continue
		}
		kept = append(kept, w)
	}
	s.st.workspaces = kept
	delete(s.st.userIndex, u.ID)
	for i, x := range s.st.users {
		if x.ID == u.ID {
			s.st.users = append(s.st.users[:i:i], s.st.users[i+1:]...)
			break
		}
	}
	if s.opts.DeleteCreatesWorkspace && u.AccountType == AccountRegular && tok.UserID != "" {
		w := s.st.addWorkspace(u.Name, WorkspaceShared, "Assets of deleted user "+u.Name, 0)
		s.st.addMember(w.ID, tok.UserID, w.roleByName(RoleAdmin).ID)
	}
	return http.StatusNoContent, nil
}

func (s *Server) setOrgRole(_ http.ResponseWriter, r *http.Request, tok Token) (int, any) {
	if !orgAdmin(tok) {
		return http.StatusForbidden, forbidden
	}
	var body struct {
		RoleID string `json:"roleId"`
	}
	if !decodeBody(r, &body) || !uuidPattern.MatchString(body.RoleID) {
		return http.StatusBadRequest, msg("Invalid input: roleId is required")
	}
	u := s.st.user(r.PathValue("userId"))
	if u == nil {
		return http.StatusNotFound, msg("User not found")
	}
	role := s.st.orgRole(body.RoleID)
	if role == nil {
		return http.StatusNotFound, msg("Role not found")
	}
	if s.st.orgRole(u.OrgRoleID).Name == RoleOwner || role.Name == RoleOwner {
		return http.StatusBadRequest, msg("The Owner role cannot be assigned or changed")
	}
	u.OrgRoleID = role.ID
	return http.StatusOK, struct{}{}
}

// adminWorkspace is the workspace of a request that changes its members:
// 404 when it does not exist, 403 when the token may not administer it.
func (s *Server) adminWorkspace(r *http.Request, tok Token) (*Workspace, int, any) {
	w := s.st.workspace(r.PathValue("workspaceId"))
	if w == nil {
		return nil, http.StatusNotFound, msg("Workspace not found")
	}
	if !wsAdmin(tok, w.ID) {
		return nil, http.StatusForbidden, forbidden
	}
	return w, 0, nil
}

func (s *Server) addWorkspaceUser(_ http.ResponseWriter, r *http.Request, tok Token) (int, any) {
	w, code, refusal := s.adminWorkspace(r, tok)
	if w == nil {
		return code, refusal
	}
	var body struct {
		UserID string `json:"userId"`
		RoleID string `json:"roleId"`
	}
	if !decodeBody(r, &body) || !pathIDPattern.MatchString(body.UserID) || !uuidPattern.MatchString(body.RoleID) {
		return http.StatusBadRequest, msg("Invalid input: userId and roleId are required")
	}
	if w.Type != WorkspaceShared && w.Type != WorkspaceEmbedded {
		return http.StatusBadRequest, msg("Members can only be added to shared workspaces")
	}
	if s.st.user(body.UserID) == nil {
		return http.StatusNotFound, msg("User not found")
	}
	if w.role(body.RoleID) == nil {
		return http.StatusBadRequest, msg("Invalid input: role does not belong to this workspace")
	}
	if _, ok := s.st.members[w.ID][body.UserID]; ok {
		return http.StatusBadRequest, msg("User is already a member of this workspace")
	}
	s.st.addMember(w.ID, body.UserID, body.RoleID)
	return http.StatusOK, struct{}{}
}

func (s *Server) setWorkspaceRole(_ http.ResponseWriter, r *http.Request, tok Token) (int, any) {
	w, code, refusal := s.adminWorkspace(r, tok)
	if w == nil {
		return code, refusal
	}
	var body struct {
		RoleID string `json:"roleId"`
	}
	if !decodeBody(r, &body) || !uuidPattern.MatchString(body.RoleID) {
		return http.StatusBadRequest, msg("Invalid input: roleId is required")
	}
	userID := r.PathValue("userId")
	if _, ok := s.st.members[w.ID][userID]; !ok || w.Type == WorkspaceOrganization {
		return http.StatusNotFound, msg("User not found in workspace")
	}
	if w.role(body.RoleID) == nil {
		return http.StatusBadRequest, msg("Invalid input: role does not belong to this workspace")
	}
	if n := s.st.orgRole(s.st.user(userID).OrgRoleID).Name; n == RoleOwner || n == RoleAdmin {
		return http.StatusBadRequest, msg("Workspace roles of organization owners and admins cannot be changed")
	}
	s.st.members[w.ID][userID] = body.RoleID
	return http.StatusOK, struct{}{}
}

func (s *Server) removeWorkspaceUser(_ http.ResponseWriter, r *http.Request, tok Token) (int, any) {
	w, code, refusal := s.adminWorkspace(r, tok)
	if w == nil {
		return code, refusal
	}
	userID := r.PathValue("userId")
	if _, ok := s.st.members[w.ID][userID]; !ok || w.Type == WorkspaceOrganization {
		return http.StatusNotFound, msg("User not found in workspace")
	}
	s.st.removeMember(w.ID, userID)
	return http.StatusOK, struct{}{}
}
