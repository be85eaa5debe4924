package traysim

type roleJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type userJSON struct {
	ID          string    `json:"id"`
	Email       string    `json:"email"`
	Name        string    `json:"name"`
	AccountType string    `json:"accountType"`
	Role        *roleJSON `json:"role"`
}

type minimalUserJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type workspaceJSON struct {
	ID               string `json:"id"`
	Name             string `json:"name"`
	Type             string `json:"type"`
	Description      string `json:"description"`
	MonthlyTaskLimit int64  `json:"monthlyTaskLimit"`
}

type workspaceUserJSON struct {
	WorkspaceID string    `json:"workspaceId"`
	ID          string    `json:"id"`
	Email       string    `json:"email,omitempty"`
	AccountType string    `json:"accountType"`
	Role        *roleJSON `json:"role"`
}

type minimalWorkspaceUserJSON struct {
	ID string `json:"id"`
}

// specItemJSON is the workspace model Tray's spec declares for every list.
type specItemJSON struct {
	ID               string `json:"id"`
	Name             string `json:"name"`
	Type             any    `json:"type"`
	Description      string `json:"description"`
	MonthlyTaskLimit int64  `json:"monthlyTaskLimit"`
}

type thirdPartyUserJSON struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Email  string `json:"email"`
	Role   string `json:"role"`
	Status string `json:"status"`
}

func (s *Server) userOut(u *User) userJSON {
	out := userJSON{ID: u.ID, Email: u.Email, Name: u.Name, AccountType: u.AccountType}
	if r := s.st.orgRole(u.OrgRoleID); r != nil {
		out.Role = &roleJSON{ID: r.ID, Name: r.Name}
	}
	return out
}

func wsOut(w *Workspace) workspaceJSON {
	return workspaceJSON{ID: w.ID, Name: w.Name, Type: w.Type, Description: w.Description, MonthlyTaskLimit: w.MonthlyTaskLimit}
}

// effectiveMembers is the member list of a workspace. The Organization
// workspace holds every org user, with the workspace role named like their
// org role (Owner maps to Admin).
func (s *Server) effectiveMembers(w *Workspace) ([]string, map[string]string) {
	if w.Type != WorkspaceOrganization {
		return s.st.memberOrder[w.ID], s.st.members[w.ID]
	}
	ids := make([]string, 0, len(s.st.users))
	roles := make(map[string]string, len(s.st.users))
	for _, u := range s.st.users {
		name := s.st.orgRole(u.OrgRoleID).Name
		if name == RoleOwner {
			name = RoleAdmin
		}
		ids = append(ids, u.ID)
		roles[u.ID] = w.roleByName(name).ID
	}
	return ids, roles
}

func (s *Server) memberOut(w *Workspace, u *User, roleID string) workspaceUserJSON {
	out := workspaceUserJSON{WorkspaceID: w.ID, ID: u.ID, Email: u.Email, AccountType: u.AccountType}
	if r := w.role(roleID); r != nil {
		out.Role = &roleJSON{ID: r.ID, Name: r.Name}
	}
	return out
}
