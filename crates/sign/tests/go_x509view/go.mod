module kubepki.test/go_x509view

go 1.22
