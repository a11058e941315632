module example.com/httpapp

go 1.19
