package connector

import (
	"context"
	"net/mail"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/conductorone/baton-trayai/pkg/client"
)

// protection keeps provisioning from removing or reducing the access of
// the accounts named by --connector-account and --protected-accounts. The
// first is the API user whose token the connector uses: in an access review
// it looks like any other Admin, and one revoke would lock the connector
// out of Tray.ai until an admin issued a new token by hand. Tray.ai has no
// "who am I" endpoint, so the operator names it.
type protection struct {
	accounts []protectedAccount
}

type protectedAccount struct {
	key     string // lower-cased email or id
	email   bool
	setting string // the flag that names the account
}

func parseProtection(connectorAccount string, others []string) (protection, error) {
	var p protection
	add := func(raw, setting string) error {
		v := strings.TrimSpace(raw)
		switch {
		case v == "":
			return nil
		case strings.Contains(v, "@"):
			if a, err := mail.ParseAddress(v); err != nil || a.Address != v {
				return invalid("%s: %q is not an email address: name the account by its email or its Tray.ai id", setting, v)
			}
			p.accounts = append(p.accounts, protectedAccount{key: strings.ToLower(v), email: true, setting: setting})
		case client.IsID(v):
			p.accounts = append(p.accounts, protectedAccount{key: strings.ToLower(v), setting: setting})
		default:
			return invalid("%s: %q is neither an email nor a Tray.ai user id", setting, v)
		}
		return nil
	}
	if err := add(connectorAccount, "--connector-account"); err != nil {
		return protection{}, err
	}
	for _, raw := range others {
		for _, part := range strings.Split(raw, ",") {
			if err := add(part, "--protected-accounts"); err != nil {
				return protection{}, err
			}
		}
	}
	return p, nil
}

func (p protection) find(u client.User) (protectedAccount, bool) {
	for _, a := range p.accounts {
		if a.key == strings.ToLower(u.ID) || (a.email && u.Email != "" && a.key == strings.ToLower(u.Email)) {
			return a, true
		}
	}
	return protectedAccount{}, false
}

func (p protection) hasEmails() bool {
	for _, a := range p.accounts {
		if a.email {
			return true
		}
	}
	return false
}

// guard keeps provisioning from weakening the protected accounts.
type guard struct {
	client   *client.Client
	accounts protection
}

// check refuses, before anything changes, a change that would remove or
// reduce the access of a protected account. user is what the caller read of
// the account (its id at least); its email is read from Tray only when a
// protected email could match. change says what was asked, for the message.
func (g *guard) check(ctx context.Context, user client.User, change string) error {
	p := g.accounts
	if len(p.accounts) == 0 {
		return nil
	}
	acct, ok := p.find(user)
	if !ok && user.Email == "" && p.hasEmails() {
		fresh, err := g.client.GetUser(ctx, user.ID)
		if status.Code(err) == codes.NotFound {
			return nil
		}
		if err != nil {
			return wrapf(err, "check whether %s is protected", user.ID)
		}
		user = fresh
		acct, ok = p.find(user)
	}
	if !ok {
		return nil
	}
	if acct.setting == "--connector-account" {
		return errorf(codes.FailedPrecondition, "refusing to %s: %s is the account the connector runs as (--connector-account), "+
			"and without that access every later sync and provisioning call would fail; make the change in Tray.ai if you mean it",
			change, displayUser(user))
	}
	return errorf(codes.FailedPrecondition,
		"refusing to %s: %s is protected by --protected-accounts; make the change in Tray.ai, or take the account out of --protected-accounts, if you mean it",
		change, displayUser(user))
}
