module sitesapp

go 1.22
