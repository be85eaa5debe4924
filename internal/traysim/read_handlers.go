package traysim

import (
	"net/http"
	"strings"
)

func (s *Server) listOrgRoles(_ http.ResponseWriter, r *http.Request, tok Token) (int, any) {
	if !orgAdmin(tok) {
		return http.StatusForbidden, forbidden
	}
	return s.paginate(r, "roles", MaxPageOrgRoles, len(s.st.orgRoles), func(i int) any { return roleJSON(s.st.orgRoles[i]) })
}

func (s *Server) listUsers(_ http.ResponseWriter, r *http.Request, tok Token) (int, any) {
	if !orgAdmin(tok) {
		return http.StatusForbidden, forbidden
	}
	email := r.URL.Query().Get("email")
	if email != "" && !emailPattern.MatchString(email) {
		return http.StatusBadRequest, msg("Invalid input: email")
	}
	users := s.st.users
	if email != "" {
		users = nil
		for _, u := range s.st.users {
			if strings.EqualFold(u.Email, email) {
				users = append(users, u)
			}
		}
	}
	return s.paginate(r, "users:"+strings.ToLower(email), MaxPageUsers, len(users), func(i int) any {
		u := users[i]
		switch s.opts.Shape {
		case ShapeMinimal:
			return minimalUserJSON{ID: u.ID, Name: u.Name}
		case ShapeSpec:
			return specItemJSON{ID: u.ID, Name: u.Name}
		case ShapeThirdParty:
			return thirdPartyUserJSON{ID: u.ID, Name: u.Name, Email: u.Email, Role: s.st.orgRole(u.OrgRoleID).Name, Status: "active"}
		default:
			return s.userOut(u)
		}
	})
}

func (s *Server) getUser(_ http.ResponseWriter, r *http.Request, tok Token) (int, any) {
	if !orgScoped(tok) {
		return http.StatusForbidden, forbidden
	}
	u := s.st.user(r.PathValue("userId"))
	if u == nil {
		return http.StatusNotFound, msg("User not found")
	}
	return http.StatusOK, s.userOut(u)
}

func (s *Server) listWorkspaces(_ http.ResponseWriter, r *http.Request, tok Token) (int, any) {
	visible := make([]*Workspace, 0, len(s.st.workspaces))
	for _, w := range s.st.workspaces {
		if tok.Kind == TokenWorkspace && w.ID != tok.WorkspaceID {
			continue
		}
		if s.opts.HidePersonalWorkspaces && w.Type == WorkspacePersonal {
			continue
		}
		visible = append(visible, w)
	}
	return s.paginate(r, "workspaces", MaxPageWorkspaces, len(visible), func(i int) any { return wsOut(visible[i]) })
}

func (s *Server) getWorkspace(_ http.ResponseWriter, r *http.Request, tok Token) (int, any) {
	w := s.st.workspace(r.PathValue("workspaceId"))
	if w == nil {
		return http.StatusNotFound, msg("Workspace not found")
	}
	if !wsViewer(tok, w.ID) {
		return http.StatusForbidden, forbidden
	}
	return http.StatusOK, wsOut(w)
}

func (s *Server) listWorkspaceRoles(_ http.ResponseWriter, r *http.Request, tok Token) (int, any) {
	w := s.st.workspace(r.PathValue("workspaceId"))
	if w == nil {
		return http.StatusNotFound, msg("Workspace not found")
	}
	if !wsAdmin(tok, w.ID) || s.faults.ForbiddenWorkspaces[w.ID] {
		return http.StatusForbidden, forbidden
	}
	return s.paginate(r, "roles:"+w.ID, MaxPageWorkspaceRoles, len(w.Roles), func(i int) any { return roleJSON(w.Roles[i]) })
}

func (s *Server) listWorkspaceUsers(_ http.ResponseWriter, r *http.Request, tok Token) (int, any) {
	w := s.st.workspace(r.PathValue("workspaceId"))
	if w == nil {
		return http.StatusNotFound, msg("Workspace not found")
	}
	if !wsViewer(tok, w.ID) || s.faults.ForbiddenWorkspaces[w.ID] {
		return http.StatusForbidden, forbidden
	}
	ids, roles := s.effectiveMembers(w)
	return s.paginate(r, "members:"+w.ID, MaxPageWorkspaceUsers, len(ids), func(i int) any {
		u := s.st.user(ids[i])
		switch s.opts.Shape {
		case ShapeMinimal:
			return minimalWorkspaceUserJSON{ID: ids[i]}
		case ShapeSpec:
			return specItemJSON{ID: u.ID, Name: u.Name}
		case ShapeThirdParty:
			return thirdPartyUserJSON{ID: u.ID, Name: u.Name, Email: u.Email, Role: w.role(roles[ids[i]]).Name, Status: "active"}
		default:
			return s.memberOut(w, u, roles[ids[i]])
		}
	})
}

func (s *Server) getWorkspaceUser(_ http.ResponseWriter, r *http.Request, tok Token) (int, any) {
	w := s.st.workspace(r.PathValue("workspaceId"))
	if w == nil {
		return http.StatusNotFound, msg("Workspace not found")
	}
	if !wsViewer(tok, w.ID) {
		return http.StatusForbidden, forbidden
	}
	_, roles := s.effectiveMembers(w)
	roleID, ok := roles[r.PathValue("userId")]
	if !ok {
		return http.StatusNotFound, msg("User not found in workspace")
	}
	return http.StatusOK, s.memberOut(w, s.st.user(r.PathValue("userId")), roleID)
}
