module example.com/testpkg

go 1.26
