module github.com/kubepki/kubepki/ffi/go

go 1.26
