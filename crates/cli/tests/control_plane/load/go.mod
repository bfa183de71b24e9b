module kubepki.test/load

go 1.22
