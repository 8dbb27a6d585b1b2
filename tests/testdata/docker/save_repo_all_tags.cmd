docker save -o repo.tar busybox && tar -xOf repo.tar manifest.json && echo && tar -xOf repo.tar repositories
