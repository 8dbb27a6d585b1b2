docker save -o same.tar busybox:latest mirror/busybox:latest && tar -tf same.tar && tar -xOf same.tar manifest.json && echo && tar -xOf same.tar repositories
