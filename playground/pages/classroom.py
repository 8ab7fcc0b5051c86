"""Class: a room for the class's drawings. The lecturer opens it and shows its code and QR code; students
draw a digit on their phones and send it; the lecturer's screen groups the drawings by the model's answer."""

import streamlit as st

from playground.ui import class_view, display

class_view.read_address()
head = display.header("Class", class_view.intro())

lecturing = class_view.lecturing()
if lecturing is not None:
    code, key = lecturing
    with head.controls:
        st.header("Room")
        choice = class_view.lecturer_controls(code, key)
    class_view.lecturer(code, key, choice)
elif class_view.joined() is not None:
    class_view.student(class_view.joined())
else:
    class_view.start()
