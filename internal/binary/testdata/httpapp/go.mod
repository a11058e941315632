module example.com/httpapp

go 1.19

require github.com/go-logr/logr v1.4.4
