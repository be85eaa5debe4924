package traysim

import (
	"slices"
	"strings"
	"time"
)

// Snapshot is a deep copy of the organization, for tests to derive what a
// sync must produce.
type Snapshot struct {
	Users      []User
	OrgRoles   []Role
	Workspaces []Workspace
	// Members[workspaceID][userID] is the member's workspace role id. The
	// Organization workspace is not listed: its members are all users.
	Members map[string]map[string]string
	Invites []Invite
}

// Snapshot copies the current state.
func (s *Server) Snapshot() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Snapshot{Members: map[string]map[string]string{}}
	for _, u := range s.st.users {
		out.Users = append(out.Users, *u)
	}
	out.OrgRoles = slices.Clone(s.st.orgRoles)
	for _, w := range s.st.workspaces {
		c := *w
		c.Roles = slices.Clone(w.Roles)
		out.Workspaces = append(out.Workspaces, c)
		if w.Type == WorkspaceOrganization {
			continue
		}
		m := map[string]string{}
		for k, v := range s.st.members[w.ID] {
			m[k] = v
		}
		out.Members[w.ID] = m
	}
	out.Invites = slices.Clone(s.st.invites)
	return out
}

// User returns a user by id.
func (sn Snapshot) User(id string) (User, bool) {
	for _, u := range sn.Users {
		if u.ID == id {
			return u, true
		}
	}
	return User{}, false
}

// UserByEmail returns a user by email, case-insensitively.
func (sn Snapshot) UserByEmail(email string) (User, bool) {
	for _, u := range sn.Users {
		if strings.EqualFold(u.Email, email) {
			return u, true
		}
	}
	return User{}, false
}

// OrgRoleByName returns an org role by name.
func (sn Snapshot) OrgRoleByName(name string) Role {
	for _, r := range sn.OrgRoles {
		if r.Name == name {
			return r
		}
	}
	return Role{}
}

// OrgRoleName returns the name of an org role id.
func (sn Snapshot) OrgRoleName(id string) string {
	for _, r := range sn.OrgRoles {
		if r.ID == id {
			return r.Name
		}
	}
	return ""
}

// Workspace returns a workspace by id.
func (sn Snapshot) Workspace(id string) (Workspace, bool) {
	for _, w := range sn.Workspaces {
		if w.ID == id {
			return w, true
		}
	}
	return Workspace{}, false
}

// WorkspacesOfType returns the workspaces of one type, in listing order.
func (sn Snapshot) WorkspacesOfType(typ string) []Workspace {
	var out []Workspace
	for _, w := range sn.Workspaces {
		if w.Type == typ {
			out = append(out, w)
		}
	}
	return out
}

// RoleByName returns a workspace role by name.
func (w Workspace) RoleByName(name string) Role {
	if r := w.roleByName(name); r != nil {
		return *r
	}
	return Role{}
}

// AddUser adds a user with the given account type and org role name and
// returns its id. Tests use it for unusual data (unknown enums and so on).
func (s *Server) AddUser(name, email, accountType, orgRoleName string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.addUser(name, email, accountType, s.st.orgRoleByName(orgRoleName).ID).ID
}

// AddWorkspace adds a workspace of any type and returns its id.
func (s *Server) AddWorkspace(name, typ string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.addWorkspace(name, typ, "", 0).ID
}

// AddMember makes a user a member of a workspace with the named role.
func (s *Server) AddMember(workspaceID, userID, roleName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.st.workspace(workspaceID)
	s.st.addMember(workspaceID, userID, w.roleByName(roleName).ID)
}

// AddToken registers a bearer token.
func (s *Server) AddToken(raw string, t Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.tokens[raw] = t
}

// AcceptInvite turns a pending invitation into a Regular user, as the
// invitee clicking the link would, and returns the new user's id.
func (s *Server) AcceptInvite(inviteID, name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, inv := range s.st.invites {
		if inv.ID == inviteID && s.opts.Now().Before(inv.Expires.Add(time.Second)) {
			s.st.invites = append(s.st.invites[:i:i], s.st.invites[i+1:]...)
			return s.st.addUser(name, inv.Email, AccountRegular, inv.OrgRoleID).ID, true
		}
	}
	return "", false
}

// RevokeToken makes a token unknown, as an admin revoking it in Tray.ai
// does: every later request with it answers 401.
func (s *Server) RevokeToken(raw string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.st.tokens, raw)
}

// SetOrgRole changes a user's organization role, as an admin in Tray.ai
// would, without going through the API.
func (s *Server) SetOrgRole(userID, roleName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.st.user(userID); u != nil {
		u.OrgRoleID = s.st.orgRoleByName(roleName).ID
	}
}

// APIUserID is the id of the user behind a token.
func (s *Server) APIUserID(token string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.tokens[token].UserID
}
