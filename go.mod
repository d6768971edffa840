module github.com/weftio/weft

go 1.26
