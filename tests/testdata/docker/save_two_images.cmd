docker save -o two.tar busybox:latest example/app:v1 && tar -tvf two.tar
