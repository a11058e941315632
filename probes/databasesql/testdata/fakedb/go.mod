module example.com/fakedb

go 1.19
