// Package traysim serves the Tray.ai Platform API (/core/v1) from memory.
// Tests, the demo and the benchmark use it in place of a real organization.
// It follows docs/tray-api-notes.md: page-size maxima, opaque cursors,
// PascalCase enums, distinct role ids per workspace, Tray's error bodies,
// the rights of each kind of token, and a switch between the list shapes
// the real API may have.
//
// Where things are: the organization and its seeding in state.go; the
// server, its routes and what every request goes through in server.go;
// tokens and rights in auth.go; deliberate misbehaviours in faults.go;
// paging in pagination.go; the JSON it answers in shapes.go; the
// endpoints in read_handlers.go and write_handlers.go; what tests read of
// the organization in inspect.go.
package traysim

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Shape selects what list endpoints put in each element.
type Shape int

const (
	// ShapeFull means list items carry email, account type and role.
	ShapeFull Shape = iota
	// ShapeMinimal means users are {id, name} and workspace members {id}; the
	// details come only from the per-item GET endpoints.
	ShapeMinimal
	// ShapeSpec is what Tray's OpenAPI document literally declares: every
	// list element in the workspace model {id, name, type, description,
	// monthlyTaskLimit}, so users and members carry no email or role.
	ShapeSpec
	// ShapeThirdParty is the shape third-party descriptions claim: users
	// {id, name, email, role: "<name>", status}, the role as a bare name.
	ShapeThirdParty
)

// Shapes lists every shape, for tests that must hold in all of them.
var Shapes = []Shape{ShapeFull, ShapeMinimal, ShapeSpec, ShapeThirdParty}

var shapeNames = map[Shape]string{ShapeFull: "full", ShapeMinimal: "minimal", ShapeSpec: "spec", ShapeThirdParty: "third-party"}

func (s Shape) String() string { return shapeNames[s] }

// ParseShape maps a shape's name (as String prints it) back to the shape.
func ParseShape(name string) (Shape, bool) {
	for _, s := range Shapes {
		if shapeNames[s] == name {
			return s, true
		}
	}
	return 0, false
}

// ShapeNames lists the shapes' names, for usage messages.
func ShapeNames() []string {
	out := make([]string, 0, len(Shapes))
	for _, s := range Shapes {
		out = append(out, shapeNames[s])
	}
	return out
}

// Org role and workspace role names used by Tray.ai.
const (
	RoleOwner       = "Owner"
	RoleAdmin       = "Admin"
	RoleContributor = "Contributor"
	RoleViewer      = "Viewer"
)

// Workspace types and the account type of people, as Tray.ai spells them.
const (
	WorkspaceOrganization = "Organization"
	WorkspaceShared       = "Shared"
	WorkspacePersonal     = "Personal"
	WorkspaceEmbedded     = "Embedded"
	AccountRegular        = "Regular"
)

// Role is an organization or workspace role.
type Role struct {
	ID   string
	Name string
}

// User is an organization user.
type User struct {
	ID          string
	Name        string
	Email       string
	AccountType string
	OrgRoleID   string
}

// Workspace is a workspace with its own role ids.
type Workspace struct {
	ID               string
	Name             string
	Type             string
	Description      string
	MonthlyTaskLimit int64
	Roles            []Role
}

// Invite is a pending invitation.
type Invite struct {
	ID        string
	Email     string
	OrgRoleID string
	Expires   time.Time
}

// TokenKind is what an API token may do.
type TokenKind int

// Token kinds (docs/tray-api-notes.md, "Tokens and rights").
const (
	// TokenOrgAdmin is an API user with the Admin organization role.
	TokenOrgAdmin TokenKind = iota
	// TokenOrgViewer is an API user with the Viewer organization role.
	TokenOrgViewer
	// TokenWorkspace is a token scoped to one workspace with a role there.
	TokenWorkspace
	// TokenMaster is an Embedded master token.
	TokenMaster
)

// Token describes one accepted bearer token.
type Token struct {
	Kind        TokenKind
	UserID      string // the API user behind the token, if any
	WorkspaceID string // for TokenWorkspace
	RoleName    string // for TokenWorkspace: Admin, Contributor or Viewer
}

// Well-known tokens of the seeded organizations.
const (
	AdminToken  = "sim-admin-token"
	ViewerToken = "sim-viewer-token"
	MasterToken = "sim-master-token"
)

// state is the organization. All access goes through Server's mutex.
type state struct {
	users      []*User
	userIndex  map[string]*User
	orgRoles   []Role
	workspaces []*Workspace
	wsIndex    map[string]*Workspace
	// members[workspaceID] maps user id → workspace role id; memberOrder
	// keeps insertion order so pages are stable.
	members     map[string]map[string]string
	memberOrder map[string][]string
	invites     []Invite
	tokens      map[string]Token
	ids         *rand.Rand
}

func newState(seed uint64) *state {
	return &state{
		userIndex:   map[string]*User{},
		wsIndex:     map[string]*Workspace{},
		members:     map[string]map[string]string{},
		memberOrder: map[string][]string{},
		tokens:      map[string]Token{},
		ids:         rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), //nolint:gosec // deterministic test data
	}
}

// newID returns a UUID v4-formatted id from the state's seeded generator.
func (s *state) newID() string {
	a, b := s.ids.Uint64(), s.ids.Uint64()
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x",
		a>>32, (a>>16)&0xffff, a&0x0fff, 0x8000|((b>>48)&0x3fff), b&0xffffffffffff)
}

func (s *state) user(id string) *User { return s.userIndex[id] }

func (s *state) userByEmail(email string) *User {
	for _, u := range s.users {
		if strings.EqualFold(u.Email, email) {
			return u
		}
	}
	return nil
}

func (s *state) workspace(id string) *Workspace { return s.wsIndex[id] }

func (s *state) orgRole(id string) *Role {
	return findRole(s.orgRoles, func(r Role) bool { return r.ID == id })
}
func (s *state) orgRoleByName(name string) *Role {
	return findRole(s.orgRoles, func(r Role) bool { return r.Name == name })
}
func (w *Workspace) role(id string) *Role {
	return findRole(w.Roles, func(r Role) bool { return r.ID == id })
}
func (w *Workspace) roleByName(name string) *Role {
	return findRole(w.Roles, func(r Role) bool { return r.Name == name })
}

// findRole returns the first role that matches, or nil.
func findRole(roles []Role, match func(Role) bool) *Role {
	for i := range roles {
		if match(roles[i]) {
			return &roles[i]
		}
	}
	return nil
}

func (s *state) addWorkspace(name, typ, description string, limit int64) *Workspace {
	w := &Workspace{ID: s.newID(), Name: name, Type: typ, Description: description, MonthlyTaskLimit: limit}
	for _, rn := range []string{RoleAdmin, RoleContributor, RoleViewer} {
		w.Roles = append(w.Roles, Role{ID: s.newID(), Name: rn})
	}
	s.workspaces = append(s.workspaces, w)
	s.wsIndex[w.ID] = w
	s.members[w.ID] = map[string]string{}
	return w
}

func (s *state) addMember(wsID, userID, roleID string) {
	if _, ok := s.members[wsID][userID]; !ok {
		s.memberOrder[wsID] = append(s.memberOrder[wsID], userID)
	}
	s.members[wsID][userID] = roleID
}

func (s *state) removeMember(wsID, userID string) {
	if _, ok := s.members[wsID][userID]; !ok {
		return
	}
	delete(s.members[wsID], userID)
	order := s.memberOrder[wsID]
	for i, id := range order {
		if id == userID {
			s.memberOrder[wsID] = append(order[:i:i], order[i+1:]...)
			break
		}
	}
}

// addUser creates a user; humans (Regular) also get a Personal workspace,
// as Tray.ai does.
func (s *state) addUser(name, email, accountType, orgRoleID string) *User {
	u := &User{ID: s.newID(), Name: name, Email: email, AccountType: accountType, OrgRoleID: orgRoleID}
	s.users = append(s.users, u)
	s.userIndex[u.ID] = u
	if accountType == AccountRegular {
		p := s.addWorkspace(name+"'s workspace", WorkspacePersonal, "", 0)
		s.addMember(p.ID, u.ID, p.roleByName(RoleAdmin).ID)
	}
	return u
}

// OrgOptions sizes a generated organization.
type OrgOptions struct {
	// Seed makes ids and memberships reproducible.
	Seed uint64
	// Users is the number of human users besides the Owner.
	Users int
	// APIUsers is the number of API-type users (the connector's own is one).
	APIUsers int
	// SharedWorkspaces is the number of Shared workspaces.
	SharedWorkspaces int
	// MembersPerWorkspace is the average number of members of a shared workspace.
	MembersPerWorkspace int
	// Embedded adds one Embedded workspace.
	Embedded bool
}

// DefaultOrgOptions is the small, realistic organization of the demo and tests.
var DefaultOrgOptions = OrgOptions{Seed: 1, Users: 17, APIUsers: 2, SharedWorkspaces: 4, MembersPerWorkspace: 6, Embedded: true}

var (
	firstNames = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Radia", "Linus",
		"Frances", "John", "Katherine", "Dennis", "Hedy", "Tim", "Shafi", "Leslie", "Sophie", "Niklaus"}
	lastNames = []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson", "Perlman",
		"Torvalds", "Allen", "McCarthy", "Johnson", "Ritchie", "Lamarr", "Berners-Lee", "Goldwasser", "Lamport", "Wilson", "Wirth"}
	teamNames = []string{"Finance Automations", "Marketing Ops", "Engineering", "Sales Ops", "People Team", "Security",
		"Data Platform", "Customer Success", "Legal", "IT Service Desk"}
)

// seedOrg fills the state with an Owner, Admins, Contributors, Viewers, API
// users, an Integration account, the Organization workspace, Shared
// workspaces and one Personal workspace per human. Ids come from the
// state's seeded generator in the order things are made, so the steps
// keep their order.
func (s *state) seedOrg(o OrgOptions) {
	for _, rn := range []string{RoleOwner, RoleAdmin, RoleContributor, RoleViewer} {
		s.orgRoles = append(s.orgRoles, Role{ID: s.newID(), Name: rn})
	}
	s.addWorkspace("Acme Corp", WorkspaceOrganization, "The organization-wide workspace", 0)
	s.addUser("Olivia Owner", "olivia.owner@acme.example", AccountRegular, s.orgRoleByName(RoleOwner).ID)
	humans := s.seedHumans(o.Users)
	apiUsers := s.seedAPIUsers(o.APIUsers)
	s.addUser("Salesforce sync", "integration@tray.acme.example", "Integration", s.orgRoleByName(RoleViewer).ID)
	shared := s.seedSharedWorkspaces(o.SharedWorkspaces)
	if o.Embedded {
		s.addWorkspace("Embedded solutions", WorkspaceEmbedded, "Solutions for our customers", 0)
	}
	s.seedMemberships(shared, humans, apiUsers, o.MembersPerWorkspace)
	if len(apiUsers) > 0 {
		s.tokens[AdminToken] = Token{Kind: TokenOrgAdmin, UserID: apiUsers[0].ID}
	}
	if len(apiUsers) > 1 {
		s.tokens[ViewerToken] = Token{Kind: TokenOrgViewer, UserID: apiUsers[1].ID}
	}
	s.tokens[MasterToken] = Token{Kind: TokenMaster}
}

// seedHumans adds n people: one Admin in ten, five Contributors, four
// Viewers.
func (s *state) seedHumans(n int) []*User {
	humans := make([]*User, 0, n)
	for i := 0; i < n; i++ {
		first := firstNames[i%len(firstNames)]
		last := lastNames[(i/len(firstNames)+i*7)%len(lastNames)]
		email := fmt.Sprintf("%s.%s%s@acme.example", strings.ToLower(first), strings.ToLower(last), suffix(i, len(firstNames)))
		var role string
		switch {
		case i%10 == 0:
			role = RoleAdmin
		case i%10 < 6:
			role = RoleContributor
		default:
			role = RoleViewer
		}
		humans = append(humans, s.addUser(first+" "+last, email, AccountRegular, s.orgRoleByName(role).ID))
	}
	return humans
}

// seedAPIUsers adds n API users; the first is the connector's own, an
// Admin, as a sync needs.
func (s *state) seedAPIUsers(n int) []*User {
	apiUsers := make([]*User, 0, n)
	for i := 0; i < n; i++ {
		role, name := RoleViewer, fmt.Sprintf("CI pipeline %d", i)
		if i == 0 {
			role, name = RoleAdmin, "ConductorOne"
		}
		apiUsers = append(apiUsers, s.addUser(name, fmt.Sprintf("api-user-%d@tray.acme.example", i+1), "API", s.orgRoleByName(role).ID))
	}
	return apiUsers
}

// seedSharedWorkspaces adds n Shared workspaces named after teams.
func (s *state) seedSharedWorkspaces(n int) []*Workspace {
	shared := make([]*Workspace, 0, n)
	for i := 0; i < n; i++ {
		name := teamNames[i%len(teamNames)]
		if i >= len(teamNames) {
			name = fmt.Sprintf("%s %d", name, i/len(teamNames)+1)
		}
		shared = append(shared, s.addWorkspace(name, WorkspaceShared, "Automations of "+name, int64(10000*(i%5+1))))
	}
	return shared
}

// seedMemberships gives each shared workspace about perWorkspace humans
// with a spread of roles; the API users are members of the first shared
// workspace, where API users live, the connector's own as its Admin.
func (s *state) seedMemberships(shared []*Workspace, humans, apiUsers []*User, perWorkspace int) {
	if len(humans) == 0 {
		return
	}
	spread := []string{RoleAdmin, RoleContributor, RoleContributor, RoleViewer, RoleViewer}
	for wi, w := range shared {
		n := perWorkspace
		if n > 2 {
			n += s.ids.IntN(5) - 2
		}
		n = max(1, min(n, len(humans)))
		start := (wi * 7) % len(humans)
		for k := 0; k < n; k++ {
			s.addMember(w.ID, humans[(start+k*3)%len(humans)].ID, w.roleByName(spread[k%5]).ID)
		}
		if wi != 0 {
			continue
		}
		for i, au := range apiUsers {
			rn := RoleAdmin
			if i > 0 {
				rn = RoleViewer
			}
			s.addMember(w.ID, au.ID, w.roleByName(rn).ID)
		}
	}
}

func suffix(i, n int) string {
	if i < n {
		return ""
	}
	return fmt.Sprint(i / n)
}
