module example.invalid/kubepki/ffi/go

go 1.26
