package standin

import (
	"html/template"
	"net/http"
	"strings"
)

// DevicePage is the page where the person types a user code and
// authorizes or refuses it, as signed in as some user.
type DevicePage struct {
	Template   *template.Template // executed with DevicePageData
	App        string             // the application, as the page names it
	Action     string             // where the form posts
	NameField  string             // the form field naming the user: "login"
	DenyAction string             // the action value of the refuse button: "cancel"
	Approved   string             // the message once authorized
	Denied     string             // the message once refused
	Pkg        string             // starts the errors of Person, cut off on the page
	// FormValue reads the posted form: the forges differ on whether the
	// query counts.
	FormValue func(r *http.Request, key string) string
	Person    interface {
		Approve(userCode, name string) error
		Deny(userCode string) error
	}
}

// DevicePageData is what the page's template shows.
type DevicePageData struct {
	App, Action, Code, Name, Message string
	Done                             bool
}

// Show is the page, with the code of the link the person followed.
func (p *DevicePage) Show(w http.ResponseWriter, r *http.Request) {
	p.render(w, http.StatusOK, DevicePageData{Code: r.FormValue("user_code")})
}

// Submit is the person pressing one of the page's buttons.
func (p *DevicePage) Submit(w http.ResponseWriter, r *http.Request) {
	d := DevicePageData{Code: p.FormValue(r, "user_code"), Name: p.FormValue(r, p.NameField)}
	var err error
	if p.FormValue(r, "action") == p.DenyAction {
		if err = p.Person.Deny(d.Code); err == nil {
			d.Message, d.Done = p.Denied, true
		}
	} else if err = p.Person.Approve(d.Code, d.Name); err == nil {
		d.Message, d.Done = p.Approved, true
	}
	status := http.StatusOK
	if err != nil {
		d.Message, status = strings.TrimPrefix(err.Error(), p.Pkg+": "), http.StatusUnprocessableEntity
	}
	p.render(w, status, d)
}

func (p *DevicePage) render(w http.ResponseWriter, status int, d DevicePageData) {
	d.App, d.Action = p.App, p.Action
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	p.Template.Execute(w, d)
}
